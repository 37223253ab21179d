//! devhost's own HTTP front end: `/<routePrefix>/*` forwarded to the handler (forwarding mode,
//! protocol §1.3) and the admin API (`POST /admin/functions/<Name>`, see `admin`).
//!
//! Forwarding: same method, original path and query (repeated keys comma-joined, `code` kept),
//! original headers plus `X-Azure-Functions-HostVersion`/`-InvocationId` and the host's
//! `User-Agent` suffix, body only when `Content-Length` > 0, redirects not followed, the handler's
//! response returned as is (a 500 from the handler is not an invocation failure).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::admin::{AdminState, admin_invoke};
use crate::invoke::HOST_VERSION;

/// Largest request body forwarded (the host's default request limit is about 100 MB).
const MAX_BODY: usize = 100 * 1024 * 1024;

/// Router state.
#[derive(Clone)]
pub(crate) struct FrontEnd {
    /// Admin API state (functions, invoker, timers).
    pub(crate) admin: Arc<AdminState>,
    /// HTTP client that never follows redirects.
    pub(crate) client: reqwest::Client,
    /// Whether an HTTP-in-and-out function with forwarding exists.
    pub(crate) forwarding: bool,
}

/// The admin API's handlers take only their own state.
impl FromRef<FrontEnd> for Arc<AdminState> {
    fn from_ref(front: &FrontEnd) -> Self {
        front.admin.clone()
    }
}

/// The front-end router for `route_prefix` (`api`).
pub(crate) fn router(state: FrontEnd, route_prefix: &str) -> axum::Router {
    let prefix = route_prefix.trim_matches('/');
    let mut r = axum::Router::new()
        .route("/", get(|| async { StatusCode::OK }))
        .route(
            "/admin/host/status",
            get(|| async {
                axum::Json(serde_json::json!({"state": "Running", "version": HOST_VERSION}))
            }),
        )
        .route("/admin/functions/{name}", post(admin_invoke));
    if prefix.is_empty() {
        r = r.fallback(forward);
    } else {
        r = r
            .route(&format!("/{prefix}"), any(forward))
            .route(&format!("/{prefix}/{{*rest}}"), any(forward));
    }
    r.with_state(state)
}

/// Rebuilds a query string the way `ToHttpRequestMessage` does: parsed, repeated keys comma-joined.
pub(crate) fn rebuild_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match pairs.iter_mut().find(|(pk, _)| *pk == k) {
            Some((_, pv)) => {
                pv.push(',');
                pv.push_str(&v);
            }
            None => pairs.push((k.into_owned(), v.into_owned())),
        }
    }
    // `Uri.EscapeDataString`: everything but RFC 3986 unreserved characters is escaped.
    const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let enc = |s: &str| utf8_percent_encode(s, ESCAPE).to_string();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-connection"
    )
}

async fn forward(State(s): State<FrontEnd>, req: Request) -> Response {
    if !s.forwarding {
        return (StatusCode::NOT_IMPLEMENTED, "devhost forwards HTTP only for an httpTrigger + http output function with enableForwardingHttpRequest").into_response();
    }
    let port = match s.admin.invoker.port().await {
        Ok(p) => p,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    };
    let (parts, body) = req.into_parts();
    let query = parts
        .uri
        .query()
        .map(rebuild_query)
        .filter(|q| !q.is_empty());
    let url = format!(
        "http://127.0.0.1:{port}{}{}",
        parts.uri.path(),
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    let length = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut headers = HeaderMap::new();
    for (k, v) in &parts.headers {
        // Content-Length is re-applied from the body actually sent; hop-by-hop headers never travel.
        if !is_hop_by_hop(k.as_str()) && k != "content-length" {
            headers.append(k.clone(), v.clone());
        }
    }
    let ua = match parts
        .headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
    {
        Some(orig) => format!("{orig} Azure-Functions-Host/{HOST_VERSION}"),
        None => format!("Azure-Functions-Host/{HOST_VERSION}"),
    };
    headers.insert(
        "user-agent",
        HeaderValue::from_str(&ua).unwrap_or(HeaderValue::from_static("Azure-Functions-Host")),
    );
    headers.insert(
        "x-azure-functions-hostversion",
        HeaderValue::from_static(HOST_VERSION),
    );
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-azure-functions-invocationid", id);
    }
    let mut rb = s
        .client
        .request(parts.method, url)
        .headers(headers)
        .timeout(s.admin.invoker.default_timeout());
    // A chunked request (no Content-Length) reaches the handler without a body, like the host.
    if length > 0 {
        match to_bytes(body, MAX_BODY).await {
            Ok(b) => rb = rb.body(b),
            Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
        }
    }
    match rb.send().await {
        Ok(res) => {
            let mut out = Response::builder().status(res.status().as_u16());
            for (k, v) in res.headers() {
                if !is_hop_by_hop(k.as_str()) && k != "content-length" {
                    out = out.header(k.as_str(), v.as_bytes());
                }
            }
            match res.bytes().await {
                Ok(b) => out
                    .body(Body::from(b))
                    .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response()),
                Err(e) => (
                    StatusCode::BAD_GATEWAY,
                    format!("reading handler response: {e}"),
                )
                    .into_response(),
            }
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("forwarding failed: {e}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::rebuild_query;

    #[test]
    fn repeated_query_keys_are_comma_joined_and_code_kept() {
        assert_eq!(rebuild_query("code=k&vm=a&vm=b"), "code=k&vm=a%2Cb");
        assert_eq!(rebuild_query("x=1%202&y=a+b"), "x=1%202&y=a%20b");
        assert_eq!(rebuild_query(""), "");
    }
}
