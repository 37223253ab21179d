//! One destination against a scripted loopback receiver: what each answer means, the wait the
//! receiver asks for, the budget, and the redaction of reasons.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::*;
use crate::notify::config::NotifyConfig;

/// A receiver answering `answers` in order (status, `Retry-After`, body), then 200.
async fn receiver(answers: Vec<(u16, Option<&'static str>, String)>) -> String {
    let answers = std::sync::Arc::new(std::sync::Mutex::new(answers.into_iter()));
    let handler = move || {
        let next = answers.lock().expect("answers").next();
        async move {
            let (status, retry_after, body) = next.unwrap_or((200, None, "ok".into()));
            let mut h = HeaderMap::new();
            if let Some(r) = retry_after {
                h.insert("retry-after", r.parse().expect("header"));
            }
            (StatusCode::from_u16(status).expect("status"), h, body).into_response()
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}/hook/SECRETTOKEN")
}

fn notifier(url: &str) -> Notifier {
    let env = [
        ("NOTIFY_WEBHOOK_URL", url),
        (
            "NOTIFY_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true"),
    ];
    let (config, errors) = crate::setting::read_pairs(&env, NotifyConfig::from_reader);
    assert!(errors.is_empty(), "{errors:?}");
    Notifier::new(config)
}

async fn post(url: &str, budget: Duration) -> Delivery {
    let payload = Payload {
        dest: Destination::Webhook,
        id: "n-1",
        body: b"{}".to_vec(),
    };
    deliver(&notifier(url), &payload, Instant::now() + budget).await
}

#[tokio::test]
async fn each_answer_means_one_thing() {
    let long = format!(
        "error for https://hooks.example/services/T0/B0/SECRETTOKEN {}",
        "x".repeat(10_000)
    );
    let cases = [
        (
            400,
            "invalid_payload\n".to_owned(),
            "HTTP 400: invalid_payload",
        ),
        (
            404,
            "channel_not_found".to_owned(),
            "HTTP 404: channel_not_found",
        ),
        (410, String::new(), "HTTP 410"),
        (302, String::new(), "HTTP 302: redirect not followed"),
        (403, long, "HTTP 403: error for https://hooks.example/…"),
    ];
    for (status, body, reason) in cases {
        let url = receiver(vec![(status, None, body)]).await;
        match post(&url, Duration::from_secs(10)).await {
            Delivery::Permanent(r) => {
                assert!(
                    r.starts_with(reason) && r.chars().count() < 400,
                    "{status}: {r}"
                );
                assert!(!r.contains("SECRETTOKEN"), "{r}");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_until_delivered() {
    let url = receiver(vec![
        (
            200,
            None,
            "Microsoft Teams endpoint returned HTTP error 429".into(),
        ),
        (429, Some("1"), String::new()),
        (503, None, String::new()),
    ])
    .await;
    let started = Instant::now();
    let got = post(&url, Duration::from_secs(20)).await;
    assert_eq!(
        got,
        Delivery::Delivered {
            status: 200,
            attempts: 4
        }
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After waited"
    );
}

#[tokio::test]
async fn a_wait_past_the_budget_is_retryable_at_once() {
    let url = receiver(vec![(429, Some("120"), String::new())]).await;
    let started = Instant::now();
    let got = post(&url, Duration::from_secs(5)).await;
    assert!(
        matches!(&got, Delivery::Retry(r) if r.starts_with("throttled")),
        "{got:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    let url = receiver(vec![(500, None, "boom".into()); 50]).await;
    let got = post(&url, Duration::from_secs(2)).await;
    assert!(
        matches!(&got, Delivery::Retry(r) if r.starts_with("HTTP 500: boom")),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_send_slot_past_the_budget_reports_the_receivers_last_answer() {
    let url = receiver(vec![(500, None, "boom".into()); 50]).await;
    let env = [
        ("NOTIFY_SLACK_URL", url.as_str()),
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true"),
    ];
    let (config, errors) = crate::setting::read_pairs(&env, NotifyConfig::from_reader);
    assert!(errors.is_empty(), "{errors:?}");
    let n = Notifier::new(config);
    let payload = Payload {
        dest: Destination::Slack,
        id: "n-1",
        body: b"{}".to_vec(),
    };
    // The first try takes its slot at once and fails; before its back-off ends, another
    // invocation's 429 holds the destination past this budget.
    let hold = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let client = n.client().as_ref().expect("client");
        let lane = Destination::Slack.as_str();
        client
            .slots()
            .push_back(lane, Instant::now() + Duration::from_secs(60));
    };
    let (got, ()) = tokio::join!(
        deliver(&n, &payload, Instant::now() + Duration::from_secs(5)),
        hold
    );
    assert!(
        matches!(&got, Delivery::Retry(r) if r.starts_with("HTTP 500: boom")),
        "{got:?}"
    );
}
