//! A handler on Azurite whose storage traffic goes through a fresh [`Proxy`], plus test-side
//! clients that reach Azurite directly (setting up and checking is never faulted).

use std::time::{Duration, Instant};

use bastion_recordings::storage::{BlobRef, Metadata};
use bastion_recordings::tables::Entity;
use bytes::Bytes;
use serde_json::{Value, json};

use super::proxy::Proxy;
use crate::audit_logs::support::{Env, event_invocation};
use crate::harness::{self, AzuriteEnv, HandlerProcess};
use crate::notify::Receiver;

/// Event Grid gives up on an answer after this long and redelivers.
pub const EVENT_GRID_WAIT: Duration = Duration::from_secs(30);

/// The audit-log test environment with its handler behind a fresh proxy, spawned with `extra`.
pub async fn start(extra: &[(&str, &str)]) -> Option<(Env, Proxy)> {
    let cs = harness::azurite()?;
    let proxy = Proxy::start(&cs).await;
    Some((environment(&cs, &proxy.connection, extra).await, proxy))
}

/// The audit-log test environment on Azurite `cs`, its handler's storage reached through
/// `connection`; the test-side clients reach Azurite directly.
pub async fn environment(cs: &str, connection: &str, extra: &[(&str, &str)]) -> Env {
    let env = AzuriteEnv::new(cs);
    let handler = spawn(&env, connection, extra).await;
    Env::with(cs, env, handler)
}

/// Settings delivering notifications to `rx`'s webhook only (Azurite settings come from the rig).
pub fn webhook_settings(rx: &Receiver) -> Vec<(String, String)> {
    let drop = [("NOTIFY_TEAMS_URL", ""), ("NOTIFY_SLACK_URL", "")];
    crate::notify::env(rx, &drop)
}

/// `(name, value)` pairs as the handler spawner takes them.
pub fn pairs(settings: &[(String, String)]) -> Vec<(&str, &str)> {
    settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The catalogue rows.
pub async fn rows(e: &Env) -> Vec<Entity> {
    let page = e.tables.query("recordings", None, None, None).await;
    page.expect("rows")
        .items
        .into_iter()
        .map(|s| s.entity)
        .collect()
}

/// A handler with `env`'s names, storage through `connection`, plus `extra`.
pub async fn spawn(env: &AzuriteEnv, connection: &str, extra: &[(&str, &str)]) -> HandlerProcess {
    let mut vars: Vec<(&str, &str)> = env
        .pairs()
        .into_iter()
        .filter(|(k, _)| *k != "AzureWebJobsStorage")
        .collect();
    vars.push(("AzureWebJobsStorage", connection));
    vars.extend_from_slice(extra);
    HandlerProcess::spawn(&vars).await
}

/// Uploads recording `name` and returns its `RecordingCreated` invocation (event id `evt-<name>`).
pub async fn recording(e: &Env, name: &str) -> Value {
    let container = e.env.recordings().to_owned();
    e.blobs
        .put(
            &BlobRef::new(container.clone(), name),
            Bytes::from_static(b"recording bytes"),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("upload");
    let mut inv = event_invocation(
        "invocations/recording-created.invocation.json",
        &container,
        name,
    );
    inv["Data"]["eventGridEvent"]["id"] = json!(format!("evt-{name}"));
    inv
}

/// Invokes `function` and returns status, reply and how long the answer took.
pub async fn timed(h: &HandlerProcess, function: &str, inv: &Value) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, reply) = h.invoke(function, inv).await;
    (status, reply, started.elapsed())
}

/// The `recording.catalogued` notification and hash request of a RecordingCreated reply, checked
/// against each other; returns the recording id.
pub fn announced(reply: &Value) -> String {
    let n = &reply["Outputs"]["notifications"];
    assert_eq!(n["type"], "recording.catalogued", "{reply}");
    let id = n["data"]["recordingId"].as_str().expect("recording id");
    assert_eq!(
        n["notificationId"],
        bastion_recordings::spine::stable_id("recording.catalogued", id),
        "{reply}"
    );
    assert_eq!(
        reply["Outputs"]["hashRequests"]["recordingId"], id,
        "{reply}"
    );
    id.to_owned()
}

/// The payloads quarantined by `function`.
pub async fn quarantined(e: &Env, function: &str) -> usize {
    e.blobs
        .list(
            e.env.get("QUARANTINE_CONTAINER"),
            Some(&format!("{function}/")),
            None,
        )
        .await
        .map_or(0, |page| page.items.len())
}
