//! The client against a scripted loopback server: retries, `Retry-After`, the end of the call,
//! the error each status stands for, and the bearer token.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use reqwest::Method;
use url::Url;

use super::*;
use crate::azure::endpoint::check_endpoint;
use crate::azure::{AzureError, Policy, Timeouts};

/// One scripted answer: status, `Retry-After`, body.
type Answer = (u16, Option<&'static str>, &'static str);

/// Answers in order; records each request's authorization header.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Option<String>>>>,
    prefer: Arc<Mutex<Vec<Option<String>>>>,
}

async fn serve(script: Script) -> Url {
    let handler = move |headers: HeaderMap| {
        let script = script.clone();
        async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            script.seen.lock().unwrap().push(auth);
            let prefer = headers
                .get("prefer")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            script.prefer.lock().unwrap().push(prefer);
            let (status, retry_after, body) = script
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or((200, None, "{}"));
            let mut h = HeaderMap::new();
            if let Some(r) = retry_after {
                h.insert("retry-after", r.parse().unwrap());
            }
            (StatusCode::from_u16(status).unwrap(), h, body).into_response()
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Url::parse(&format!("http://{addr}/sub/resource?api-version=1")).unwrap()
}

#[derive(Debug)]
struct Fixed;

#[async_trait::async_trait]
impl TokenCredential for Fixed {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        assert_eq!(scopes, ["https://example.test/.default"]);
        Ok(AccessToken::new(
            "tok-1".to_owned(),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

fn client(total_secs: u64) -> Client {
    client_with(total_secs, Policy::CONTROL)
}

fn client_with(total_secs: u64, policy: Policy) -> Client {
    let credential: Arc<dyn TokenCredential> = Arc::new(Fixed);
    let auth = Auth::Bearer(credential, "https://example.test/.default".into());
    let timeouts = Timeouts {
        per_try: Duration::from_secs(5),
        total: Duration::from_secs(total_secs),
    };
    let endpoint = Url::parse("https://example.test").unwrap();
    Client::new("test", Some(&endpoint), auth, timeouts, policy).unwrap()
}

fn script(answers: &[Answer]) -> Script {
    let s = Script::default();
    s.answers.lock().unwrap().extend(answers.iter().copied());
    s
}

fn get(url: &Url) -> Request<'static> {
    Request::new(Method::GET, url.clone(), "Reader on host h")
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_with_the_token() {
    let s = script(&[
        (429, Some("1"), ""),
        (503, None, r#"{"error":{"code":"Busy","message":"later"}}"#),
        (200, None, r#"{"value":[1,2]}"#),
    ]);
    let url = serve(s.clone()).await;
    let started = std::time::Instant::now();
    let v: serde_json::Value = client(30)
        .json(&get(&url))
        .await
        .expect("third try succeeds");
    assert_eq!(v["value"][1], 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 is waited"
    );
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|a| a.as_deref() == Some("Bearer tok-1")));
}

#[tokio::test]
async fn each_status_means_one_thing() {
    let cases: [(u16, &str, AzureError); 4] = [
        (
            403,
            "",
            AzureError::Forbidden {
                role: "Reader on host h".into(),
            },
        ),
        (404, "", AzureError::NotFound),
        (
            400,
            r#"{"error":{"code":"BadArgumentError","message":"The request had some invalid properties"}}"#,
            AzureError::Rejected {
                status: 400,
                code: "BadArgumentError".into(),
                message: "The request had some invalid properties".into(),
            },
        ),
        (401, "", AzureError::Permanent("HTTP 401".into())),
    ];
    for (status, body, want) in cases {
        let s = script(&[(status, None, body)]);
        let url = serve(s.clone()).await;
        let got = client(30).send(&get(&url)).await.expect_err("fails");
        assert_eq!(got, want, "{status}");
        assert!(!got.is_retryable(), "{status}");
        assert_eq!(s.seen.lock().unwrap().len(), 1, "{status} is not retried");
    }
}

#[tokio::test]
async fn a_wait_beyond_what_is_left_of_the_call_is_not_waited() {
    let s = script(&[(429, Some("120"), "")]);
    let url = serve(s.clone()).await;
    let started = std::time::Instant::now();
    let got = client(10).send(&get(&url)).await.expect_err("throttled");
    assert_eq!(
        got,
        AzureError::Throttled {
            retry_after: Some(Duration::from_secs(120))
        }
    );
    assert!(got.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(s.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn persistent_server_errors_end_transient_after_the_retries() {
    let s = script(&[(500, None, ""); 8]);
    let url = serve(s.clone()).await;
    let quick = Policy {
        first: Duration::from_millis(10),
        ..Policy::CONTROL
    };
    let got = client_with(60, quick)
        .send(&get(&url))
        .await
        .expect_err("transient");
    assert!(
        matches!(got, AzureError::Transient(ref t) if t == "call on example.test (test): HTTP 500"),
        "{got:?}"
    );
    assert_eq!(s.seen.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn a_back_off_that_would_pass_the_callers_end_is_not_waited() {
    let s = script(&[(500, None, ""); 8]);
    let url = serve(s.clone()).await;
    let started = std::time::Instant::now();
    let until = started + Duration::from_secs(6);
    let got = client(120)
        .send(&get(&url).until(Some(until)))
        .await
        .expect_err("transient");
    assert!(matches!(got, AzureError::Transient(_)), "{got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "ended before the caller's end"
    );
    // Back-offs of 0.5-1 and 2-4 s fit, 8-16 s does not.
    assert!((2..=3).contains(&s.seen.lock().unwrap().len()));
}

/// A 202 or 204 carries no body: read as JSON it is an error saying so, never an empty value.
#[tokio::test]
async fn an_answer_without_a_body_is_never_read_as_json() {
    for status in [202, 204] {
        let s = script(&[(status, None, "")]);
        let url = serve(s).await;
        let got = client(30)
            .json::<serde_json::Value>(&get(&url))
            .await
            .expect_err("no body");
        assert!(
            matches!(&got, AzureError::Transient(t) if t.contains("without a body")),
            "{status}: {got:?}"
        );
    }
}

/// The diagnostic settings API answers errors as a top-level `{code, message}`.
#[tokio::test]
async fn a_top_level_error_body_is_read_for_its_code() {
    let body =
        r#"{"code":"ResourceTypeNotSupported","message":"The resource type is not supported"}"#;
    let s = script(&[(400, None, body)]);
    let url = serve(s).await;
    let got = client(30).send(&get(&url)).await.expect_err("refused");
    assert_eq!(
        got,
        AzureError::Rejected {
            status: 400,
            code: "ResourceTypeNotSupported".into(),
            message: "The resource type is not supported".into(),
        }
    );
}

/// With a server time limit the request says `Prefer: wait=<seconds>`, and the server's timeout
/// (504, or a body coded GatewayTimeout) comes back at once: the same request would time out again.
#[tokio::test]
async fn a_server_timeout_within_the_requested_wait_is_not_asked_again() {
    for (status, body) in [
        (504, ""),
        (
            500,
            r#"{"error":{"code":"GatewayTimeout","message":"took too long"}}"#,
        ),
    ] {
        let s = script(&[(status, None, body), (200, None, "{}")]);
        let url = serve(s.clone()).await;
        let req = get(&url).server_wait(Duration::from_secs(7));
        let got = client(30).send(&req).await.expect_err("timed out");
        assert!(matches!(got, AzureError::ServerTimeout { .. }), "{got:?}");
        assert!(got.is_retryable(), "a smaller request may pass later");
        assert_eq!(s.seen.lock().unwrap().len(), 1, "{status}: not retried");
        assert_eq!(*s.prefer.lock().unwrap(), [Some("wait=7".to_owned())]);
    }
    // Without a server time limit a 504 is a transient failure, retried as before.
    let s = script(&[(504, None, ""), (200, None, "{}")]);
    let url = serve(s.clone()).await;
    client(30).send(&get(&url)).await.expect("second try");
    assert_eq!(*s.prefer.lock().unwrap(), [None, None]);
}

/// The run's end bounds every wait: a `Retry-After` that fits the call's own timeout but not
/// what is left of the run is not waited.
#[tokio::test]
async fn the_run_end_bounds_the_waits() {
    let s = script(&[(429, Some("5"), ""), (200, None, "{}")]);
    let url = serve(s.clone()).await;
    let started = std::time::Instant::now();
    let until = std::time::Instant::now() + Duration::from_secs(2);
    let got = client(60)
        .send(&get(&url).until(Some(until)))
        .await
        .expect_err("throttled");
    assert_eq!(
        got,
        AzureError::Throttled {
            retry_after: Some(Duration::from_secs(5))
        }
    );
    assert_eq!(got.to_string(), "throttled (the service asked to wait 5 s)");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn endpoints_are_https_or_allowed_loopback() {
    assert!(check_endpoint("https://api.loganalytics.azure.com", false).is_ok());
    assert!(check_endpoint("http://127.0.0.1:9/", true).is_ok());
    assert!(check_endpoint("http://127.0.0.1:9/", false).is_err());
    assert!(check_endpoint("http://example.com/", true).is_err());
    assert!(check_endpoint("https://u:p@example.com/", false).is_err());
}

/// A 429 asking for longer than the call has left pauses the lane past every later call's
/// end: those end at once as throttled, never after waiting out their time.
#[tokio::test]
async fn a_paced_lane_paused_past_the_end_fails_later_calls_at_once() {
    let s = script(&[(429, Some("600"), ""), (200, None, "{}")]);
    let url = serve(s.clone()).await;
    let c = client(60).paced(16, None);
    let started = std::time::Instant::now();
    let first = c.send(&get(&url)).await.expect_err("throttled");
    assert!(matches!(first, AzureError::Throttled { .. }), "{first:?}");
    let second = c.send(&get(&url)).await.expect_err("paused");
    assert!(
        matches!(second, AzureError::Throttled { retry_after: Some(d) } if d > Duration::from_secs(590)),
        "{second:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        s.seen.lock().unwrap().len(),
        1,
        "the paused lane sent nothing"
    );
}

mod shared;
