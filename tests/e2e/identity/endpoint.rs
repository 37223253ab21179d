//! A local stand-in for the identity endpoint App Service and Flex Consumption give a function app
//! (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`): `GET ?api-version=2019-08-01&resource=…[&client_id=…]`
//! with the `x-identity-header` secret, answering `{access_token, expires_on (Unix seconds as a
//! string), resource, token_type, client_id}`. It records every request, answers with tokens
//! Azurite's basic OAuth accepts, and can be told to fail (an HTTP status) or to freeze (accept
//! and never answer).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::tls_azurite::FakeEntra;

/// The resource a storage token is asked for (the scope without `/.default`).
pub(crate) const STORAGE: &str = "https://storage.azure.com";
/// The API version of the App Service identity protocol.
pub(crate) const API_VERSION: &str = "2019-08-01";

/// How the endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Issue tokens (lifetimes from the queue, then an hour).
    Issue,
    /// Answer every request with this status.
    Fail(u16),
    /// Accept the request and never answer.
    Freeze,
}

/// One token request as received.
#[derive(Debug, Clone)]
pub(crate) struct TokenRequest {
    /// `x-identity-header`, which tells the test's processes apart.
    pub(crate) secret: String,
    /// `api-version`.
    pub(crate) api_version: Option<String>,
    /// `resource`.
    pub(crate) resource: Option<String>,
    /// `client_id` (user-assigned identities only).
    pub(crate) client_id: Option<String>,
    /// `metadata: true` was sent.
    pub(crate) metadata: bool,
    /// When it arrived.
    pub(crate) at: Instant,
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    lifetimes: VecDeque<i64>,
    requests: Vec<TokenRequest>,
}

/// The running endpoint.
#[derive(Clone)]
pub(crate) struct IdentityEndpoint {
    /// `http://127.0.0.1:<port>/msi/token` (what `IDENTITY_ENDPOINT` is set to).
    pub(crate) url: String,
    inner: Arc<Mutex<Inner>>,
}

impl IdentityEndpoint {
    /// Starts it on a free loopback port.
    pub(crate) async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            mode: Mode::Issue,
            lifetimes: VecDeque::new(),
            requests: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/msi/token", axum::routing::get(token))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/msi/token", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { url, inner }
    }

    /// Answers from now on as `mode`.
    pub(crate) fn set_mode(&self, mode: Mode) {
        self.inner.lock().expect("endpoint").mode = mode;
    }

    /// The next tokens issued live this many seconds (then an hour).
    pub(crate) fn next_lifetimes(&self, seconds: &[i64]) {
        self.inner
            .lock()
            .expect("endpoint")
            .lifetimes
            .extend(seconds);
    }

    /// Every request sent with the secret `secret`.
    pub(crate) fn requests(&self, secret: &str) -> Vec<TokenRequest> {
        self.inner
            .lock()
            .expect("endpoint")
            .requests
            .iter()
            .filter(|r| r.secret == secret)
            .cloned()
            .collect()
    }
}

async fn token(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request = TokenRequest {
        secret: header("x-identity-header").unwrap_or_default(),
        api_version: query.get("api-version").cloned(),
        resource: query.get("resource").cloned(),
        client_id: query.get("client_id").cloned(),
        metadata: header("metadata").as_deref() == Some("true"),
        at: Instant::now(),
    };
    let (mode, lifetime) = {
        let mut inner = inner.lock().expect("endpoint");
        inner.requests.push(request.clone());
        let lifetime = match inner.mode {
            Mode::Issue => inner.lifetimes.pop_front().unwrap_or(3600),
            _ => 0,
        };
        (inner.mode, lifetime)
    };
    match mode {
        Mode::Freeze => std::future::pending().await,
        Mode::Fail(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "identity endpoint failure (test)",
        )
            .into_response(),
        // The platform refuses a request without its secret or for another API version.
        Mode::Issue
            if request.secret.is_empty() || request.api_version.as_deref() != Some(API_VERSION) =>
        {
            (StatusCode::BAD_REQUEST, "bad identity request").into_response()
        }
        Mode::Issue => {
            let expires_on = OffsetDateTime::now_utc().unix_timestamp() + lifetime;
            axum::Json(json!({
                // The token is for the resource asked (Storage keeps its own audience).
                "access_token": match request.resource.as_deref() {
                    Some(r) if !r.is_empty() && !r.starts_with(STORAGE) => FakeEntra::jwt_for(r.trim_end_matches('/'), expires_on),
                    _ => FakeEntra::jwt_until(expires_on),
                },
                "expires_on": expires_on.to_string(),
                "resource": request.resource.clone().unwrap_or_default(),
                "token_type": "Bearer",
                "client_id": request.client_id.clone().unwrap_or_else(|| "system-assigned".into()),
            }))
            .into_response()
        }
    }
}
