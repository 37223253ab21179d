//! A loopback stand-in for Microsoft Graph's Get user (`GET /v1.0/users/{id | userPrincipalName}`,
//! Learn graph/api/user-get), answering only in its documented shapes: 200 with the user resource
//! of the `$select`ed properties and `@odata.context`; 404 with the error body
//! `{"error": {"code": "Request_ResourceNotFound", "message": …, "innerError": …}}` (Learn
//! graph/errors); 429 with `Retry-After` and code `TooManyRequests` while throttled (Learn
//! graph/throttling); 403 `Authorization_RequestDenied` for the UPNs it is told to refuse. Every
//! request is counted by UPN (path-decoded, as Graph reads it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

#[derive(Default)]
struct Directory {
    /// UPN (lower case) → (object id, UPN as stored).
    users: HashMap<String, (String, String)>,
    /// Requests answered 429 before the next is served.
    throttle: u32,
    /// UPNs (lower case) refused with 403.
    refused: Vec<String>,
    /// Requests per UPN, as received.
    hits: HashMap<String, u32>,
    /// The query strings received.
    queries: Vec<String>,
    /// Each request's method and path, as received (still percent-encoded).
    requests: Vec<(String, String)>,
}

/// The running fake.
pub(crate) struct FakeGraph {
    /// Its base URL (`GRAPH_ENDPOINT`).
    pub(crate) base: String,
    dir: Arc<Mutex<Directory>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let inner = json!({"date": "2026-01-01T00:00:00", "request-id": "0b1e5a3c-0000-4000-8000-000000000001",
        "client-request-id": "0b1e5a3c-0000-4000-8000-000000000002"});
    let body = json!({"error": {"code": code, "message": message, "innerError": inner}});
    (status, Json(body)).into_response()
}

async fn user(
    State(dir): State<Arc<Mutex<Directory>>>,
    Path(upn): Path<String>,
    RawQuery(query): RawQuery,
    uri: axum::http::Uri,
) -> Response {
    let mut d = dir.lock().expect("lock");
    d.requests.push(("GET".to_owned(), uri.path().to_owned()));
    *d.hits.entry(upn.clone()).or_default() += 1;
    d.queries.push(query.unwrap_or_default());
    if d.throttle > 0 {
        d.throttle -= 1;
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
        );
        r.headers_mut()
            .insert("retry-after", "1".parse().expect("header"));
        return r;
    }
    let key = upn.to_lowercase();
    if d.refused.contains(&key) {
        return error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    match d.users.get(&key) {
        Some((id, stored)) => Json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName)/$entity",
            "id": id, "userPrincipalName": stored,
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{upn}' does not exist or one of its queried reference-property objects are not present."),
        ),
    }
}

impl FakeGraph {
    /// Serves `users` (UPN, object id) on a free loopback port, throttling the first `throttle`
    /// requests and refusing `refused` UPNs.
    pub(crate) async fn start(users: &[(&str, &str)], throttle: u32, refused: &[&str]) -> Self {
        let dir = Arc::new(Mutex::new(Directory {
            users: users
                .iter()
                .map(|(upn, id)| (upn.to_lowercase(), ((*id).to_owned(), (*upn).to_owned())))
                .collect(),
            throttle,
            refused: refused.iter().map(|u| u.to_lowercase()).collect(),
            ..Directory::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = Router::new()
            .route("/v1.0/users/{upn}", get(user))
            .with_state(dir.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve graph");
        });
        Self { base, dir, task }
    }

    /// Requests received for `upn`.
    pub(crate) fn hits(&self, upn: &str) -> u32 {
        let d = self.dir.lock().expect("lock");
        d.hits.get(upn).copied().unwrap_or_default()
    }

    /// Every request received: (method, path).
    pub(crate) fn requests(&self) -> Vec<(String, String)> {
        self.dir.lock().expect("lock").requests.clone()
    }

    /// Every query string received.
    pub(crate) fn queries(&self) -> Vec<String> {
        self.dir.lock().expect("lock").queries.clone()
    }
}
