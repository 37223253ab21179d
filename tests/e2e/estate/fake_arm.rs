//! A loopback fake of the Resource Manager endpoints the estate checks and the live-session
//! watch call, answering in the shapes of the REST specifications' examples: the Bastion host
//! resource, the diagnostic settings list, the blob service (CORS,
//! versioning), the container (`hasImmutabilityPolicy`), `getActiveSessions` (200, or 202 +
//! `Location` polled, pages joined by `nextLink`) and `disconnectActiveSessions`. Switches flip
//! each finding, throttle (429 + `Retry-After`), forbid a path (403 `AuthorizationFailed`), and
//! every request is counted. The subscription's storage account list answers 403 unless
//! `subscription_reader` is set: the app is granted read on its recording accounts only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) const SUB: &str = "11111111-2222-3333-4444-555555555555";

/// A host's resource id in the fake subscription.
pub(crate) fn host_id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-bastion/providers/Microsoft.Network/bastionHosts/{name}"
    )
}

/// A storage account's resource id in the fake subscription.
pub(crate) fn account_id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-storage/providers/Microsoft.Storage/storageAccounts/{name}"
    )
}

#[derive(Default)]
pub(crate) struct Estate {
    /// Host resources by lower-case id.
    pub(crate) hosts: HashMap<String, Value>,
    /// Diagnostic settings (`value` items) by lower-case host id.
    pub(crate) diagnostics: HashMap<String, Vec<Value>>,
    /// Storage accounts (`{id, name, type}`).
    pub(crate) accounts: Vec<Value>,
    /// Blob services by lower-case account id.
    pub(crate) blob_services: HashMap<String, Value>,
    /// Containers by lower-case `account id/container`.
    pub(crate) containers: HashMap<String, Value>,
    /// Live sessions by lower-case host id.
    pub(crate) sessions: HashMap<String, Vec<Value>>,
    /// The next this-many requests answer 429 with `Retry-After: 1`.
    pub(crate) throttle: usize,
    /// Resource Manager's token bucket: each request takes a token and the answer reports what
    /// is left (`x-ms-ratelimit-remaining-subscription-reads`, `-writes` for POST); empty: 429.
    pub(crate) bucket: Option<Bucket>,
    /// Answers that were 429 (the `throttle` switch's and the bucket's).
    pub(crate) throttled: usize,
    /// Paths ending with any of these answer 403.
    pub(crate) forbid: Vec<String>,
    /// The caller holds read at subscription scope (else listing its storage accounts is 403).
    pub(crate) subscription_reader: bool,
    /// `getActiveSessions` answers 202 and is polled this many times before its 200.
    pub(crate) lro_polls: usize,
    /// Sessions per page (`nextLink` beyond).
    pub(crate) page_size: usize,
    /// Every request: `METHOD path`.
    pub(crate) requests: Vec<String>,
    /// Each answer waits this long first (Resource Manager's round trip, for the benchmark).
    pub(crate) latency: std::time::Duration,
    /// Session ids `disconnectActiveSessions` was asked for.
    pub(crate) disconnect_requests: Vec<String>,
    /// The fake's own base URL (absolute `nextLink` / `Location`, as Resource Manager gives them).
    pub(crate) base: String,
    /// When set, a request whose bearer token this refuses answers 401 `InvalidAuthenticationToken`.
    pub(crate) token_check: Option<fn(Option<&str>) -> bool>,
    /// The bearer token of every request (`None`: no `Authorization` header).
    pub(crate) tokens: Vec<Option<String>>,
    pending: HashMap<String, usize>,
}

/// A token bucket of `capacity` requests refilled at `per_second` (one for reads and writes alike).
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub(crate) capacity: f64,
    pub(crate) per_second: f64,
    level: f64,
    at: std::time::Instant,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(capacity: u32, per_second: u32) -> Self {
        Self {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second),
            level: f64::from(capacity),
            at: std::time::Instant::now(),
        }
    }

    /// Takes a token: what is left, or `None` when empty.
    fn take(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.level = (self.level + refill).min(self.capacity);
        self.at = now;
        if self.level < 1.0 {
            return None;
        }
        self.level -= 1.0;
        Some(self.level.floor() as u64)
    }
}

impl Estate {
    /// A healthy Premium host recording into `account`/`container`, its audit logs sent to
    /// `audit_account`, with CORS for its DNS name.
    pub(crate) fn add_healthy(
        &mut self,
        name: &str,
        account: &str,
        container: &str,
        audit_account: &str,
    ) {
        let id = host_id(name);
        let dns = format!("bst-{name}.bastion.azure.com");
        self.hosts.insert(id.to_ascii_lowercase(), json!({
            "id": id, "name": name, "type": "Microsoft.Network/bastionHosts", "location": "westeurope",
            "etag": "W/\"00000000-0000-0000-0000-000000000000\"",
            "sku": {"name": "Premium"},
            "properties": {"provisioningState": "Succeeded", "dnsName": dns, "scaleUnits": 2,
                "enableSessionRecording": true, "enableTunneling": false, "enableShareableLink": false,
                "enableIpConnect": false, "enableFileCopy": false, "disableCopyPaste": false,
                "ipConfigurations": []}
        }));
        self.diagnostics.insert(id.to_ascii_lowercase(), vec![json!({
            "id": format!("{id}/providers/microsoft.insights/diagnosticSettings/to-archive"),
            "type": "Microsoft.Insights/diagnosticSettings", "name": "to-archive",
            "properties": {"storageAccountId": account_id(audit_account), "workspaceId": null,
                "logs": [{"category": "BastionAuditLogs", "categoryGroup": null, "enabled": true,
                    "retentionPolicy": {"enabled": false, "days": 0}}], "metrics": []}
        })]);
        let acct = account_id(account);
        if !self.accounts.iter().any(|a| a["id"] == json!(acct)) {
            self.accounts.push(
                json!({"id": acct, "name": account, "type": "Microsoft.Storage/storageAccounts",
                "location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
            );
        }
        let svc = self
            .blob_services
            .entry(acct.to_ascii_lowercase())
            .or_insert_with(|| {
                json!({
                    "id": format!("{acct}/blobServices/default"), "name": "default",
                    "type": "Microsoft.Storage/storageAccounts/blobServices",
                    "properties": {"isVersioningEnabled": false, "cors": {"corsRules": []},
                        "deleteRetentionPolicy": {"enabled": false}}
                })
            });
        if let Some(rules) = svc["properties"]["cors"]["corsRules"].as_array_mut() {
            rules.push(
                json!({"allowedOrigins": [format!("https://{dns}")], "allowedMethods": ["GET"],
                "maxAgeInSeconds": 86400, "exposedHeaders": ["*"], "allowedHeaders": ["*"]}),
            );
        }
        self.containers.insert(format!("{acct}/{container}").to_ascii_lowercase(), json!({
            "id": format!("{acct}/blobServices/default/containers/{container}"), "name": container,
            "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
            "etag": "\"0x8D589847D51C7DE\"",
            "properties": {"publicAccess": "None", "hasImmutabilityPolicy": false, "hasLegalHold": false,
                "leaseStatus": "Unlocked", "leaseState": "Available"}
        }));
    }

    /// The host's resource JSON, to flip a property.
    pub(crate) fn host(&mut self, name: &str) -> &mut Value {
        self.hosts
            .get_mut(&host_id(name).to_ascii_lowercase())
            .expect("host")
    }
}

/// The running fake.
#[derive(Clone)]
pub(crate) struct FakeArm {
    pub(crate) url: String,
    pub(crate) estate: Arc<Mutex<Estate>>,
}

impl FakeArm {
    pub(crate) async fn start(estate: Estate) -> Self {
        let estate = Arc::new(Mutex::new(estate));
        let app = Router::new().fallback(answer).with_state(estate.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        estate.lock().expect("estate").base = url.clone();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { url, estate }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Estate) -> R) -> R {
        f(&mut self.estate.lock().expect("estate"))
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn list(items: Vec<Value>) -> Response {
    axum::Json(json!({"value": items})).into_response()
}

async fn answer(
    State(estate): State<Arc<Mutex<Estate>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = estate.lock().expect("estate").latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri.path().to_owned();
    let lower = path.to_ascii_lowercase();
    let mut e = estate.lock().expect("estate");
    e.requests.push(format!("{method} {path}"));
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    e.tokens.push(token.clone());
    if e.token_check.is_some_and(|ok| !ok(token.as_deref())) {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    }
    let remaining = match e.bucket.as_mut().map(Bucket::take) {
        Some(None) => Err(()),
        Some(Some(left)) => Ok(Some(left)),
        None => Ok(None),
    };
    if e.throttle > 0 || remaining.is_err() {
        e.throttle = e.throttle.saturating_sub(1);
        e.throttled += 1;
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "throttled",
        );
        r.headers_mut()
            .insert("retry-after", "1".parse().expect("header"));
        return r;
    }
    let mut r = route(&mut e, &method, &uri, &lower, &body);
    if let Ok(Some(left)) = remaining {
        let kind = if method == Method::GET {
            "reads"
        } else {
            "writes"
        };
        r.headers_mut().insert(
            axum::http::HeaderName::from_bytes(
                format!("x-ms-ratelimit-remaining-subscription-{kind}").as_bytes(),
            )
            .expect("name"),
            left.into(),
        );
    }
    r
}

/// The answer to one request that passed the token and throttling checks.
fn route(e: &mut Estate, method: &Method, uri: &Uri, lower: &str, body: &Bytes) -> Response {
    if e.forbid
        .iter()
        .any(|f| lower.ends_with(&f.to_ascii_lowercase()))
    {
        return error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            "The client does not have authorization to perform action over scope or the scope is invalid.",
        );
    }
    if !uri.query().unwrap_or_default().contains("api-version=") && !lower.starts_with("/fake-") {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    if let Some(op) = lower.strip_prefix("/fake-operations/") {
        let left = e.pending.get(op).copied().unwrap_or(0);
        if left > 0 {
            e.pending.insert(op.to_owned(), left - 1);
            return accepted(&e.base, op);
        }
        let host = op
            .rsplit_once('~')
            .map(|(h, _)| h.replace('!', "/"))
            .unwrap_or_default();
        return sessions_page(e, &host, 0);
    }
    if let Some(rest) = lower.strip_prefix("/fake-pages/") {
        let (host, n) = rest.rsplit_once('~').unwrap_or_default();
        return sessions_page(e, &host.replace('!', "/"), n.parse().unwrap_or(0));
    }
    if *method == Method::POST && lower.ends_with("/getactivesessions") {
        let host = lower.trim_end_matches("/getactivesessions").to_owned();
        if !e.hosts.contains_key(&host) {
            return error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
        }
        if e.lro_polls > 0 {
            let op = format!("{}~{}", host.replace('/', "!"), e.requests.len());
            let polls = e.lro_polls - 1;
            e.pending.insert(op.clone(), polls);
            return accepted(&e.base, &op);
        }
        return sessions_page(e, &host, 0);
    }
    if *method == Method::POST && lower.ends_with("/disconnectactivesessions") {
        let host = lower
            .trim_end_matches("/disconnectactivesessions")
            .to_owned();
        let ids: Vec<String> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| serde_json::from_value(v["sessionIds"].clone()).ok())
            .unwrap_or_default();
        let mut out = Vec::new();
        for id in ids {
            e.disconnect_requests.push(id.clone());
            let live = e.sessions.entry(host.clone()).or_default();
            let found = live.iter().position(|s| s["sessionId"] == json!(id));
            out.push(match found {
                Some(i) => {
                    live.remove(i);
                    json!({"sessionId": id, "message": format!("session {id} invalidated!"), "state": "Disconnected"})
                }
                None => json!({"sessionId": id, "message": format!("session {id} not found!"), "state": "NotFound"}),
            });
        }
        return list(out);
    }
    if *method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "not supported by the fake",
        );
    }
    if let Some(host) = lower.strip_suffix("/providers/microsoft.insights/diagnosticsettings") {
        return match e.diagnostics.get(host) {
            Some(d) => list(d.clone()),
            None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found"),
        };
    }
    if lower.ends_with("/providers/microsoft.storage/storageaccounts") {
        if !e.subscription_reader {
            return error(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                "The client does not have authorization to perform action 'Microsoft.Storage/storageAccounts/read' over scope '/subscriptions/…' or the scope is invalid.",
            );
        }
        let sub = lower.split('/').nth(2).unwrap_or_default().to_owned();
        let mine = e
            .accounts
            .iter()
            .filter(|a| {
                a["id"]
                    .as_str()
                    .is_some_and(|i| i.to_ascii_lowercase().contains(&sub))
            })
            .cloned()
            .collect();
        return list(mine);
    }
    if let Some(acct) = lower.strip_suffix("/blobservices/default") {
        return match e.blob_services.get(acct) {
            Some(s) => axum::Json(s.clone()).into_response(),
            None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found"),
        };
    }
    if let Some((acct, container)) = lower.split_once("/blobservices/default/containers/") {
        return match e.containers.get(&format!("{acct}/{container}")) {
            Some(c) => axum::Json(c.clone()).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "ContainerNotFound",
                "The specified container does not exist.",
            ),
        };
    }
    match e.hosts.get(lower) {
        Some(h) => axum::Json(h.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "The Resource was not found.",
        ),
    }
}

fn accepted(base: &str, op: &str) -> Response {
    let mut r = StatusCode::ACCEPTED.into_response();
    r.headers_mut().insert(
        "location",
        format!("{base}/fake-operations/{op}?api-version=2024-05-01")
            .parse()
            .expect("header"),
    );
    r.headers_mut()
        .insert("retry-after", "0".parse().expect("header"));
    r
}

fn sessions_page(e: &Estate, host: &str, n: usize) -> Response {
    let all = e.sessions.get(host).cloned().unwrap_or_default();
    let size = if e.page_size == 0 {
        all.len().max(1)
    } else {
        e.page_size
    };
    let items: Vec<Value> = all.iter().skip(n * size).take(size).cloned().collect();
    let more = all.len() > (n + 1) * size;
    let next = more.then(|| {
        format!(
            "{}/fake-pages/{}~{}?api-version=2024-05-01",
            e.base,
            host.replace('/', "!"),
            n + 1
        )
    });
    axum::Json(json!({"value": items, "nextLink": next})).into_response()
}
