//! A loopback fake of the Resource Manager endpoints the estate checks and the live-session
//! watch call, answering only in the shapes the REST specifications, their examples and the
//! Learn pages document: the Bastion host at api-version 2026-01-01 (with
//! `sessionRecordingConfiguration` and the host's identity; the same host without them at
//! 2024-05-01, and `NoRegisteredProviderFound` for a version switched off), the diagnostic settings
//! list (`workspaceId: ""` for none, `logAnalyticsDestinationType`, `200 {"value": []}` when a host
//! has none, errors as a top-level `{code, message}`), the blob service (CORS, versioning), the
//! container (`hasImmutabilityPolicy`), role assignments and definitions of the recording target,
//! VM extensions, `getActiveSessions` (long-running: [`lro`]) and `disconnectActiveSessions`.
//! Switches flip each finding, throttle (429 with a `Retry-After` of whole seconds, never 0;
//! every request, or one provider's under one resource),
//! fail the next requests under a path (429, or 504 `GatewayTimeout`),
//! forbid a path (403 `AuthorizationFailed`), and every request is recorded (and shown to an
//! observer, so the permission drift test sees each URL). The subscription's storage account list
//! answers 403 unless `subscription_reader` is set: the app is granted read on its recording
//! accounts only.

#[path = "fake_arm_lro.rs"]
pub(crate) mod lro;
#[path = "fake_arm_network.rs"]
pub(crate) mod network;

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

/// Sees each request: method and path.
pub(crate) type Observer = std::sync::Arc<dyn Fn(&str, &str) + Send + Sync>;

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
    /// The next this-many requests answer 429 with `Retry-After: throttle_wait`.
    pub(crate) throttle: usize,
    /// The `Retry-After` of those 429s (seconds; 1 unless a test says otherwise).
    pub(crate) throttle_wait: u64,
    /// A resource provider's own throttle: every request to a path under this lower-case prefix
    /// served by the prefix's provider (no other `/providers/` after it, as an extension
    /// resource's would have) answers 429 with `Retry-After: throttle_wait`.
    pub(crate) throttle_under: Option<String>,
    /// The `Retry-After` of 202s and running status monitors (seconds; the Network provider
    /// answers 10, tests scale it down, never to 0).
    pub(crate) retry_after: u64,
    /// How `getActiveSessions` answers.
    pub(crate) lro: lro::Lro,
    /// Api-versions of `Microsoft.Network` refused (`NoRegisteredProviderFound`).
    pub(crate) refused_versions: Vec<String>,
    /// Role assignments by lower-case principal id: `(scope, role definition guid)`.
    pub(crate) assignments: HashMap<String, Vec<(String, String)>>,
    /// Role definitions by guid: their data actions.
    pub(crate) definitions: HashMap<String, Vec<String>>,
    /// VM extensions present: lower-case `vm id/extensions/name`.
    pub(crate) extensions: Vec<String>,
    /// Sees every request.
    pub(crate) observer: Option<Observer>,
    /// Log Analytics workspaces by lower-case resource id: their customer id.
    pub(crate) workspaces: HashMap<String, String>,
    /// Resource Manager's token bucket: each request takes a token and the answer reports what
    /// is left (`x-ms-ratelimit-remaining-subscription-reads`, `-writes` for POST); empty: 429.
    /// One per subscription, each starting as this one (the limits hold per subscription, principal
    /// and region: azure-docs articles/azure-resource-manager/management/request-limits-and-throttling.md).
    pub(crate) bucket: Option<Bucket>,
    /// The subscriptions' buckets in use, by the lower-case subscription id of the request's path.
    pub(crate) buckets: HashMap<String, Bucket>,
    /// Answers that were 429 (the `throttle` switch's and the bucket's).
    pub(crate) throttled: usize,
    /// Paths ending with any of these answer 403.
    pub(crate) forbid: Vec<String>,
    /// The caller holds read at subscription scope (else listing its storage accounts is 403).
    pub(crate) subscription_reader: bool,
    /// A long-running `getActiveSessions` answers "running" this many polls before its result.
    pub(crate) lro_polls: usize,
    /// Sessions per page (`nextLink` beyond).
    pub(crate) page_size: usize,
    /// A next page answers 202 first (polled like the first answer).
    pub(crate) page_accepted: bool,
    /// Every request: `METHOD path`.
    pub(crate) requests: Vec<String>,
    /// When each of [`Self::requests`] was answered (the benchmark's budget windows).
    pub(crate) answered_at: Vec<std::time::Instant>,
    /// Requests arrived, counted before [`Self::latency`] (those still waiting included).
    pub(crate) arrived: usize,
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
    pub(crate) running: HashMap<String, lro::Running>,
    /// Network resources (NICs, NSGs, virtual networks) the lists answer: [`network`].
    pub(crate) network: Vec<Value>,
    /// Faults for requests whose lower-case path, or `method path` (`get /subscriptions/…`: one
    /// subscription's reads), contains a text: `(text, status, times)`, each the next `times` such
    /// requests; 429 with `Retry-After: throttle_wait` (Resource Manager throttles a subscription's
    /// reads and writes apart: azure-docs articles/azure-resource-manager/management/
    /// request-limits-and-throttling.md), 504 as Resource Manager's gateway answers when the
    /// provider does not answer in time (`GatewayTimeout`).
    pub(crate) faults_under: Vec<(String, u16, usize)>,
    /// Answers the `faults_under` gave.
    pub(crate) faulted: usize,
    /// Throttled spans: from the first request whose `method path` (lower-case) contains a text,
    /// every such request answers 429 for that many seconds, its `Retry-After` the whole seconds
    /// left (Resource Manager rejects a throttled scope's requests until its bucket refills:
    /// azure-docs articles/azure-resource-manager/management/request-limits-and-throttling.md).
    /// `(text, seconds, the span's end once started)`.
    pub(crate) throttle_spans: Vec<(String, u64, Option<std::time::Instant>)>,
    /// VMs by lower-case resource id: their `vmId` (a VM moved keeps it). `GET {vm}` answers the
    /// Compute specification's `VirtualMachine_Get` shape (its NICs, when the network names any).
    pub(crate) vm_ids: HashMap<String, String>,
    /// The `tags` object of those VMs by lower-case resource id (`VirtualMachine_Get`'s
    /// top-level `tags`, a name-to-value map; absent: none).
    pub(crate) vm_tags: HashMap<String, Value>,
    /// PIM's schedules by lower-case `/subscriptions/{id}`: `roleAssignmentScheduleInstances`
    /// and `roleAssignmentScheduleRequests` items, in the shapes of the authorization
    /// specification's examples (`GetRoleAssignmentScheduleInstancesByScope.json`,
    /// `GetRoleAssignmentScheduleRequestByScope.json`, 2020-10-01), paged by `page_size`.
    pub(crate) schedules: HashMap<String, (Vec<Value>, Vec<Value>)>,
    /// VMs (lower-case ids) the subscription's VM list shows besides those of `vm_ids` and
    /// `extensions`; those in `unexpanded` are listed without `resources`.
    pub(crate) listed_vms: Vec<String>,
    /// Listed VMs whose entry carries no `resources` (as `VirtualMachine_ListAll_MinimumSet_Gen.json`).
    pub(crate) unexpanded: Vec<String>,
    /// Listed VMs whose `resources` give each extension by its `id` alone (the specification
    /// requires none of an extension's fields; Resource Manager's list is known to answer so).
    pub(crate) ids_only: Vec<String>,
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
            "identity": {"type": "SystemAssigned", "principalId": principal(name),
                "tenantId": "00000000-0000-0000-0000-0000000000f1"},
            "properties": {"provisioningState": "Succeeded", "dnsName": dns, "scaleUnits": 2,
                "enableSessionRecording": true, "enableTunneling": false, "enableShareableLink": false,
                "enableIpConnect": false, "enableFileCopy": false, "disableCopyPaste": false,
                "enableKerberos": false, "enablePrivateOnlyBastion": false,
                "sessionRecordingConfiguration": {"identity": {"type": "SystemAssigned"},
                    "blobContainerUri": format!("https://{account}.blob.core.windows.net/{container}")},
                "ipConfigurations": []}
        }));
        // Storage Blob Data Contributor for the host's identity on its recording container.
        self.assignments.insert(
            principal(name),
            vec![(
                format!(
                    "{}/blobServices/default/containers/{container}",
                    account_id(account)
                ),
                CONTRIBUTOR.to_owned(),
            )],
        );
        self.definitions.insert(
            CONTRIBUTOR.to_owned(),
            vec!["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*".to_owned()],
        );
        self.diagnostics.insert(
            id.to_ascii_lowercase(),
            vec![json!({
                "id": format!("{id}/providers/microsoft.insights/diagnosticSettings/to-archive"),
                "type": "Microsoft.Insights/diagnosticSettings", "name": "to-archive",
                "properties": {"storageAccountId": account_id(audit_account), "workspaceId": "",
                    "logs": [{"category": "BastionAuditLogs", "enabled": true,
                        "retentionPolicy": {"enabled": false, "days": 0}}], "metrics": []}
            })],
        );
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
        if let Some(rules) = svc["properties"]["cors"]["corsRules"]
            .as_array_mut()
            .filter(|r| {
                !r.iter()
                    .any(|x| x["allowedOrigins"][0] == json!(format!("https://{dns}")))
            })
        {
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

    /// Subscription `sub` sends its Activity log (category `Administrative`) to the workspace of
    /// customer id `customer` (`law-activity`), in the shape of the specification's
    /// `listSubscriptionDiagnosticSettings` example (monitor, 2021-05-01-preview: `type` null, the
    /// id under `AzureResourceManager`).
    pub(crate) fn activity_log_to(&mut self, sub: &str, customer: &str) {
        let workspace = format!(
            "/subscriptions/{sub}/resourceGroups/rg-law/providers/Microsoft.OperationalInsights/workspaces/law-activity"
        );
        self.workspaces
            .insert(workspace.to_ascii_lowercase(), customer.to_owned());
        self.diagnostics.insert(
            format!("/subscriptions/{sub}"),
            vec![json!({
                "id": format!("subscriptions/{sub}/providers/AzureResourceManager/diagnosticSettings/activity-to-law"),
                "type": null, "name": "activity-to-law",
                "properties": {"storageAccountId": null, "workspaceId": workspace,
                    "eventHubAuthorizationRuleId": null,
                    "logs": [{"category": "Administrative", "enabled": true},
                        {"category": "Security", "enabled": true}]}
            })],
        );
    }

    /// The host's resource JSON, to flip a property.
    pub(crate) fn host(&mut self, name: &str) -> &mut Value {
        self.hosts
            .get_mut(&host_id(name).to_ascii_lowercase())
            .expect("host")
    }
}

/// Storage Blob Data Contributor's role definition id.
pub(crate) const CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/// The object id of host `name`'s system-assigned identity.
pub(crate) fn principal(name: &str) -> String {
    let n = name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        n & 0xffff_ffff,
        n & 0xffff_ffff_ffff
    )
}

/// The running fake.
#[derive(Clone)]
pub(crate) struct FakeArm {
    pub(crate) url: String,
    pub(crate) estate: Arc<Mutex<Estate>>,
}

impl FakeArm {
    pub(crate) async fn start(mut estate: Estate) -> Self {
        if estate.retry_after == 0 {
            estate.retry_after = 1;
        }
        if estate.throttle_wait == 0 {
            estate.throttle_wait = 1;
        }
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

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
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
    let latency = {
        let mut e = estate.lock().expect("estate");
        e.arrived += 1;
        e.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri.path().to_owned();
    let lower = path.to_ascii_lowercase();
    let mut e = estate.lock().expect("estate");
    e.requests.push(format!("{method} {path}"));
    e.answered_at.push(std::time::Instant::now());
    if let Some(see) = e.observer.clone() {
        see(method.as_str(), &path);
    }
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
    let sub = lower.split('/').nth(2).unwrap_or_default().to_owned();
    let remaining = match e.bucket.clone() {
        Some(start) => e
            .buckets
            .entry(sub)
            .or_insert(start)
            .take()
            .map(Some)
            .ok_or(()),
        None => Ok(None),
    };
    let provider_throttled = e.throttle_under.as_ref().is_some_and(|p| {
        lower
            .strip_prefix(p.as_str())
            .is_some_and(|rest| !rest.contains("/providers/"))
    });
    let fault = e
        .faults_under
        .iter_mut()
        .find(|(text, _, times)| {
            let request = format!("{} {lower}", method.as_str().to_ascii_lowercase());
            *times > 0 && request.contains(text.as_str())
        })
        .map(|(_, status, times)| {
            *times -= 1;
            *status
        });
    if let Some(status) = fault {
        e.faulted += 1;
        if status == 504 {
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                "GatewayTimeout",
                "The gateway did not receive a response from 'Microsoft.Network' within the specified time period.",
            );
        }
        e.throttle += 1;
    }
    let request = format!("{} {lower}", method.as_str().to_ascii_lowercase());
    let now = std::time::Instant::now();
    let span = e
        .throttle_spans
        .iter_mut()
        .filter(|(text, _, _)| request.contains(text.as_str()))
        .find_map(|(_, secs, end)| {
            let end = *end.get_or_insert(now + std::time::Duration::from_secs(*secs));
            (now < end).then(|| (end - now).as_secs_f64().ceil() as u64)
        });
    if let Some(left) = span {
        e.throttled += 1;
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00.",
        );
        r.headers_mut().insert(
            "retry-after",
            left.max(1).to_string().parse().expect("header"),
        );
        return r;
    }
    if e.throttle > 0 || remaining.is_err() || provider_throttled {
        e.throttle = e.throttle.saturating_sub(1);
        e.throttled += 1;
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00.",
        );
        let wait = e.throttle_wait.max(1).to_string();
        r.headers_mut()
            .insert("retry-after", wait.parse().expect("header"));
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
    let diagnostics = lower.contains("/providers/microsoft.insights/diagnosticsettings");
    if e.forbid.iter().any(|f| {
        let f = f.to_ascii_lowercase();
        lower.ends_with(&f) || (f.contains("/locations/") && lower.contains(&f))
    }) {
        let message = format!(
            "The client does not have authorization to perform action over scope '{}' or the scope is invalid.",
            uri.path()
        );
        if diagnostics {
            // The diagnostic settings API's error shape: a top-level code and message.
            return (
                StatusCode::FORBIDDEN,
                axum::Json(json!({"code": "AuthorizationFailed", "message": message})),
            )
                .into_response();
        }
        return error(StatusCode::FORBIDDEN, "AuthorizationFailed", &message);
    }
    let query = uri.query().unwrap_or_default().to_owned();
    let version = query
        .split('&')
        .find_map(|p| p.strip_prefix("api-version="))
        .unwrap_or_default()
        .to_owned();
    if version.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    if lower.contains("/microsoft.network/") && e.refused_versions.contains(&version) {
        return error(
            StatusCode::BAD_REQUEST,
            "NoRegisteredProviderFound",
            &format!(
                "No registered resource provider found for location 'westeurope' and API version '{version}' for type 'bastionHosts'. The supported api-versions are '2024-05-01'."
            ),
        );
    }
    if let Some((_, rest)) = lower.split_once("/providers/microsoft.network/locations/") {
        let mut parts = rest.split('/');
        let (_region, kind, id) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
        return match kind {
            Some("operations") if *method == Method::GET => lro::status(e, id),
            Some("operationresults") if *method == Method::GET => lro::result(e, id),
            _ => error(StatusCode::NOT_FOUND, "NotFound", "not found"),
        };
    }
    if let Some((host, id)) = lower.split_once("/getactivesessions/operationresults/") {
        let (host, id) = (host.to_owned(), id.to_owned());
        return if e.running.get(&id).is_some_and(|p| p.host == host) {
            lro::result(e, &id)
        } else {
            error(
                StatusCode::NOT_FOUND,
                "OperationNotFound",
                "The operation was not found.",
            )
        };
    }
    if let Some(host) = lower.strip_suffix("/getactivesessions") {
        let host = host.to_owned();
        if !e.hosts.contains_key(&host) {
            return error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                "The Resource was not found.",
            );
        }
        if *method == Method::GET {
            // A next page (`nextLink`): `$skipToken` names it.
            let n = query
                .split('&')
                .find_map(|p| p.strip_prefix("$skipToken="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            return if e.page_accepted && e.lro != lro::Lro::Immediate {
                lro::start(e, &host, n)
            } else {
                lro::page(e, &host, n)
            };
        }
        if *method == Method::POST {
            return if e.lro == lro::Lro::Immediate {
                lro::page(e, &host, 0)
            } else {
                lro::start(e, &host, 0)
            };
        }
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
        // No setting is `200 {"value": []}`; an unknown resource the API's own error shape.
        // A recording account's blob service has settings of its own (none: an empty list).
        let blob_service = host
            .strip_suffix("/blobservices/default")
            .is_some_and(|a| e.blob_services.contains_key(a));
        // A subscription always exists: none is `200 {"value": []}` too.
        let subscription = host.trim_matches('/').split('/').count() == 2;
        return match (
            e.diagnostics.get(host),
            e.hosts.contains_key(host) || blob_service || subscription,
        ) {
            (Some(d), _) => list(d.clone()),
            (None, true) => list(vec![]),
            (None, false) => (
                StatusCode::NOT_FOUND,
                axum::Json(
                    json!({"code": "ResourceNotFound", "message": "The resource was not found."}),
                ),
            )
                .into_response(),
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
    for (kind, requests) in [
        (
            "/providers/microsoft.authorization/roleassignmentscheduleinstances",
            false,
        ),
        (
            "/providers/microsoft.authorization/roleassignmentschedulerequests",
            true,
        ),
    ] {
        if let Some(sub) = lower.strip_suffix(kind) {
            let (instances, asked) = e.schedules.get(sub).cloned().unwrap_or_default();
            let items = if requests { asked } else { instances };
            return paged(e, uri, (&query, &version), &items);
        }
    }
    if let Some(sub) = lower.strip_suffix("/providers/microsoft.authorization/roledefinitions") {
        return paged(e, uri, (&query, &version), &role_definitions(e, sub));
    }
    if let Some(sub) = lower.strip_suffix("/providers/microsoft.compute/virtualmachines") {
        return paged(e, uri, (&query, &version), &vm_list(e, sub));
    }
    if let Some((scope, _)) = lower.split_once("/providers/microsoft.authorization/roleassignments")
    {
        return role_assignments(e, scope, &query);
    }
    if let Some((_, guid)) = lower.split_once("/providers/microsoft.authorization/roledefinitions/")
    {
        return match e.definitions.get(guid) {
            Some(data) => axum::Json(json!({
                "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
                "name": guid, "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {"roleName": "Storage Blob Data Contributor", "type": "BuiltInRole",
                    "permissions": [{"actions": [], "notActions": [], "dataActions": data, "notDataActions": []}],
                    "assignableScopes": ["/"]}
            }))
            .into_response(),
            None => error(StatusCode::NOT_FOUND, "RoleDefinitionDoesNotExist", "The specified role definition does not exist."),
        };
    }
    if *method == Method::GET
        && let Some(items) = network::list(&e.network, lower)
    {
        return list(items);
    }
    if *method == Method::GET
        && let Some(vm_id) = e.vm_ids.get(lower).cloned()
    {
        let name = lower.rsplit('/').next().unwrap_or_default();
        let mut vm = network::get(&e.network, lower)
            .flatten()
            .unwrap_or_else(|| {
                json!({"name": name, "id": uri.path(), "type": "Microsoft.Compute/virtualMachines",
                "location": "westeurope", "properties": {
                    "hardwareProfile": {"vmSize": "Standard_DS3_v2"},
                    "networkProfile": {"networkInterfaces": []}, "provisioningState": "Succeeded"}})
            });
        vm["properties"]["vmId"] = json!(vm_id);
        if let Some(tags) = e.vm_tags.get(lower) {
            vm["tags"] = tags.clone();
        }
        return axum::Json(vm).into_response();
    }
    if *method == Method::GET
        && let Some(found) = network::get(&e.network, lower)
    {
        return match found {
            Some(v) => axum::Json(v).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                "The Resource was not found.",
            ),
        };
    }
    if lower.contains("/providers/microsoft.compute/virtualmachines/")
        && lower.contains("/extensions/")
    {
        return if e.extensions.iter().any(|x| x == lower) {
            let name = lower.rsplit('/').next().unwrap_or_default();
            axum::Json(json!({"id": uri.path(), "name": name, "type": "Microsoft.Compute/virtualMachines/extensions",
                "location": "westeurope", "properties": {"publisher": "Microsoft.Azure.ActiveDirectory",
                "type": "AADLoginForWindows", "typeHandlerVersion": "2.0", "provisioningState": "Succeeded"}}))
            .into_response()
        } else {
            error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The entity was not found in this Azure location.",
            )
        };
    }
    if lower.contains("/providers/microsoft.operationalinsights/workspaces/") {
        return match e.workspaces.get(lower) {
            Some(customer) => {
                axum::Json(json!({"id": uri.path(), "name": lower.rsplit('/').next(),
                "type": "Microsoft.OperationalInsights/workspaces", "location": "westeurope",
                "properties": {"customerId": customer, "provisioningState": "Succeeded",
                    "sku": {"name": "PerGB2018"}, "retentionInDays": 30}}))
                .into_response()
            }
            None => error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                "The Resource was not found.",
            ),
        };
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
        Some(h) => {
            let mut h = h.clone();
            if version != "2026-01-01" {
                // The older versions know neither the recording target nor the host's identity.
                if let Some(p) = h["properties"].as_object_mut() {
                    p.remove("sessionRecordingConfiguration");
                }
                if let Some(o) = h.as_object_mut() {
                    o.remove("identity");
                }
            }
            axum::Json(h).into_response()
        }
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "The Resource was not found.",
        ),
    }
}

/// One page of `items` from `$skipToken` (`page_size` a page; 0: all), with an absolute `nextLink`
/// while more are left.
fn paged(e: &Estate, uri: &Uri, (query, version): (&str, &str), items: &[Value]) -> Response {
    let from: usize = query
        .split('&')
        .find_map(|p| p.strip_prefix("$skipToken="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let size = if e.page_size == 0 {
        items.len().max(1)
    } else {
        e.page_size
    };
    let page: Vec<Value> = items.iter().skip(from).take(size).cloned().collect();
    let mut body = json!({"value": page});
    if from + size < items.len() {
        body["nextLink"] = json!(format!(
            "{}{}?api-version={version}&$skipToken={}",
            e.base,
            uri.path(),
            from + size
        ));
    }
    axum::Json(body).into_response()
}

/// `GET /subscriptions/{id}/providers/Microsoft.Compute/virtualMachines` ("Virtual Machines -
/// List All", api-version 2024-07-01): the subscription's VMs in the shape of the Compute
/// specification's `VirtualMachine_ListAll_MaximumSet_Gen.json`, each with its extensions as
/// `resources` (`name`, `properties.publisher` and `type`; for `ids_only` VMs the `id` alone),
/// or without `resources` as in `VirtualMachine_ListAll_MinimumSet_Gen.json`.
fn vm_list(e: &Estate, sub: &str) -> Vec<Value> {
    let mut vms: Vec<String> = (e.vm_ids.keys().cloned())
        .chain(
            e.extensions
                .iter()
                .filter_map(|x| Some(x.split_once("/extensions/")?.0.to_owned())),
        )
        .chain(e.listed_vms.iter().cloned())
        .filter(|vm| vm.starts_with(&format!("{sub}/")))
        .collect();
    vms.sort();
    vms.dedup();
    let vm_of = |vm: &str| {
        let name = vm.rsplit('/').next().unwrap_or_default();
        let mut v = json!({"id": vm, "name": name, "type": "Microsoft.Compute/virtualMachines",
            "location": "westeurope", "properties": {"provisioningState": "Succeeded"}});
        if !e.unexpanded.iter().any(|u| u == vm) {
            let resources: Vec<Value> = (e.extensions.iter())
                .filter_map(|x| x.strip_prefix(&format!("{vm}/extensions/")))
                .map(|ext| {
                    if e.ids_only.iter().any(|u| u == vm) {
                        return json!({"id": format!("{vm}/extensions/{ext}")});
                    }
                    let publisher = if ext.starts_with("aad") { "Microsoft.Azure.ActiveDirectory" } else { "Microsoft.Azure.Monitor" };
                    json!({"id": format!("{vm}/extensions/{ext}"), "name": ext, "location": "westeurope",
                        "type": "Microsoft.Compute/virtualMachines/extensions",
                        "properties": {"publisher": publisher, "type": ext, "typeHandlerVersion": "1.0",
                            "provisioningState": "Succeeded"}})
                })
                .collect();
            v["resources"] = json!(resources);
        }
        v
    };
    vms.iter().map(|vm| vm_of(vm)).collect()
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{id}'`:
/// the principal's assignments at, above or below the scope.
fn role_assignments(e: &Estate, scope: &str, query: &str) -> Response {
    let decoded = query
        .replace("%20", " ")
        .replace("%27", "'")
        .replace('+', " ");
    let principal = decoded
        .split_once("principalId eq ")
        .map(|(_, p)| {
            p.split('&')
                .next()
                .unwrap_or_default()
                .trim_matches('\'')
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let items: Vec<Value> = e
        .assignments
        .get(&principal)
        .into_iter()
        .flatten()
        .filter(|(at, _)| {
            let at = at.to_ascii_lowercase();
            scope.starts_with(&at) || at.starts_with(scope)
        })
        .enumerate()
        .map(|(i, (at, role))| json!({
            "id": format!("{at}/providers/Microsoft.Authorization/roleAssignments/{i:08}-0000-0000-0000-000000000000"),
            "type": "Microsoft.Authorization/roleAssignments", "name": format!("{i:08}-0000-0000-0000-000000000000"),
            "properties": {"roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                "principalId": principal, "principalType": "ServicePrincipal", "scope": at}
        }))
        .collect();
    list(items)
}

/// `GET {subscription}/providers/Microsoft.Authorization/roleDefinitions` (api-version
/// 2022-04-01): the definitions applicable there, in the shape of the authorization
/// specification's `GetRoleDefinitionAtScope.json` (items as `GetRoleDefinitionById.json`): the
/// role the schedule examples name (`c8d4ff99-…`, all actions but the authorization writes, as
/// Contributor), Reader (`*/read`) and each of `definitions` (its data actions only).
fn role_definitions(e: &Estate, sub: &str) -> Vec<Value> {
    let item = |guid: &str, name: &str, (actions, not): (&[&str], &[&str]), data: &[String]| {
        json!({"properties": {"roleName": name, "type": "BuiltInRole", "description": name,
            "assignableScopes": ["/"], "permissions": [{"actions": actions, "notActions": not,
            "dataActions": data, "notDataActions": []}]},
            "id": format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            "type": "Microsoft.Authorization/roleDefinitions", "name": guid})
    };
    let writes = [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
    ];
    let mut out = vec![
        item(
            "c8d4ff99-41c3-41a8-9f60-21dfdad59608",
            "Contributor",
            (&["*"], &writes),
            &[],
        ),
        item(
            "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "Reader",
            (&["*/read"], &[]),
            &[],
        ),
    ];
    let mut data: Vec<(&String, &Vec<String>)> = e.definitions.iter().collect();
    data.sort();
    out.extend(
        data.into_iter()
            .map(|(g, d)| item(g, "data role", (&[], &[]), d)),
    );
    out
}
