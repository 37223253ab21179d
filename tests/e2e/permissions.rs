//! Permission drift: the data actions the functions exercise on the Bastion-owned containers, held
//! against what `infra/` grants there.
//!
//! The functions run in-process over in-memory stores that record every call (`storage::intercept`)
//! with the container it addresses; `storage::permissions` maps each call to its RBAC data action.
//! Exercised: RecordingCreated, AuditLogCreated, AuditLogTail, Reconcile and RetentionSweep (on a
//! day when everything has expired). A needed action the Bicep does not grant fails, naming the
//! function, the call and the Bicep file; a granted action no function used fails too (least
//! privilege); so does a call on a container no module grants anything on.

use bastion_recordings::state::Stores;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bastion_recordings::clock::FixedClock;
use bastion_recordings::config::Config;
use bastion_recordings::invocation::{Invocation, InvokeRequest};
use bastion_recordings::retention::policy::Policy;
use bastion_recordings::state::AppState;
use bastion_recordings::storage::intercept::{BeforeCall, Call, Intercepted};
use bastion_recordings::storage::memory::InMemoryBlobStore;
use bastion_recordings::storage::permissions::{container, data_action};
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata, StorageError};
use bastion_recordings::tables::memory::InMemoryTables;
use bytes::Bytes;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::harness::fixture;

const RECORDINGS: &str = "recordings";
const AUDIT_LOGS: &str = "insights-logs-bastionauditlogs";
const HOUR: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";

/// The test's own uploads (Bastion's and Azure Monitor's writes in production), not recorded.
const SETUP: &str = "setup";

/// (account, container) → data action → the functions that needed it.
type Seen = BTreeMap<(String, String), BTreeMap<String, BTreeSet<String>>>;

#[derive(Clone)]
struct Recorder {
    account: &'static str,
    function: Arc<Mutex<&'static str>>,
    seen: Arc<Mutex<Seen>>,
}

#[async_trait]
impl BeforeCall<InMemoryBlobStore> for Recorder {
    async fn before(&self, call: Call<'_>, _: &InMemoryBlobStore) -> Result<(), StorageError> {
        let function = *self.function.lock().expect("lock");
        if function == SETUP {
            return Ok(());
        }
        let key = (self.account.to_owned(), container(&call).to_owned());
        self.seen
            .lock()
            .expect("lock")
            .entry(key)
            .or_default()
            .entry(data_action(&call))
            .or_default()
            .insert(function.to_owned());
        Ok(())
    }
}

fn invocation(function: &'static str, data: Value, now: &str) -> Invocation {
    let body = json!({"Data": data, "Metadata": {"sys": {"MethodName": function, "UtcNow": now}}});
    let raw = Bytes::from(body.to_string());
    Invocation {
        function,
        id: format!("perm-{function}"),
        host_version: None,
        request: InvokeRequest::parse(&raw).expect("envelope"),
        raw,
    }
}

fn blob_event(account: &str, container: &str, name: &str) -> Value {
    json!({"eventGridEvent": {
        "topic": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}"),
        "subject": format!("/blobServices/default/containers/{container}/blobs/{name}"),
        "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2025-03-14T09:42:17Z",
        "id": format!("perm-{name}"), "dataVersion": "", "metadataVersion": "1",
        "data": {"api": "PutBlob", "url": format!("https://{account}.blob.core.windows.net/{container}/{name}"),
                 "sequencer": "00000000000000000000000000000001", "blobType": "BlockBlob"}}})
}

/// Runs the functions that touch the Bastion-owned containers and returns what they did there.
async fn exercise() -> Seen {
    let function = Arc::new(Mutex::new(SETUP));
    let seen = Arc::new(Mutex::new(Seen::new()));
    let store = |account: &'static str| {
        let inner = InMemoryBlobStore::new(account);
        let hook = Recorder {
            account,
            function: function.clone(),
            seen: seen.clone(),
        };
        Arc::new(Intercepted::with(inner, hook))
    };
    let (recordings, logs, app) = (store("strec"), store("stlogs"), store("stapp"));
    let config = Config::from_lookup(&|k| (k == "HANDLER_IN_MEMORY").then(|| "true".to_owned()))
        .expect("config");
    let state = AppState::assemble(
        config,
        Policy::builtin(),
        Stores {
            recordings: recordings.clone(),
            audit_logs: logs.clone(),
            app_blobs: app,
            tables: Arc::new(InMemoryTables::new()),
        },
        Arc::new(FixedClock::new(datetime!(2025-03-14 10:00 UTC))),
    );
    let meta = Metadata::new();
    let rec = BlobRef::new(RECORDINGS, "2025/03/14/vm-app-01/session.mp4");
    let body = Bytes::from_static(b"recording");
    recordings
        .put(&rec, body, "video/mp4", &meta)
        .await
        .expect("put");
    let hour = BlobRef::new(AUDIT_LOGS, HOUR);
    logs.create_append(&hour, "application/json")
        .await
        .expect("create");
    let sample = Bytes::from(crate::harness::fixture_bytes("auditlogs/PT1H.sample.jsonl"));
    logs.append(&hour, sample).await.expect("append");
    let timer = fixture("invocations/timer.invocation.json")["Data"].clone();
    let runs: [(&'static str, Value, &str); 5] = [
        (
            "RecordingCreated",
            blob_event("strec", RECORDINGS, &rec.name),
            "2025-03-14T10:00:00Z",
        ),
        (
            "AuditLogCreated",
            blob_event("stlogs", AUDIT_LOGS, HOUR),
            "2025-03-14T10:00:00Z",
        ),
        ("AuditLogTail", timer.clone(), "2025-03-14T11:30:00Z"),
        ("Reconcile", timer.clone(), "2025-03-14T12:17:00Z"),
        // Ten years on every class has expired: the sweep finds, re-checks and deletes in both.
        ("RetentionSweep", timer, "2035-03-16T02:00:00Z"),
    ];
    for (name, data, now) in runs {
        *function.lock().expect("lock") = name;
        let inv = invocation(name, data, now);
        let out = match name {
            "RecordingCreated" => {
                bastion_recordings::functions::recordings::recording_created(state.clone(), inv)
                    .await
            }
            "AuditLogCreated" => {
                bastion_recordings::audit_logs::created::handle(state.clone(), inv).await
            }
            "AuditLogTail" => {
                bastion_recordings::audit_logs::tail::handle(state.clone(), inv).await
            }
            "Reconcile" => {
                bastion_recordings::functions::reconcile::reconcile(state.clone(), inv).await
            }
            _ => {
                bastion_recordings::functions::retention::retention_sweep(state.clone(), inv).await
            }
        };
        let out = out.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            out.label() != "skipped" || name == "Reconcile",
            "{name}: {out:?}"
        );
    }
    seen.lock().expect("lock").clone()
}

/// The data actions `infra/modules/<file>` grants (its `dataActions` list).
fn granted(file: &str) -> BTreeSet<String> {
    let path = format!("{}/infra/modules/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("read Bicep");
    let Some(start) = text.find("var dataActions = [") else {
        return builtin(&text);
    };
    let list = &text[start..text[start..].find(']').map_or(text.len(), |e| start + e)];
    list.lines()
        .filter_map(|l| l.trim().strip_prefix('\'')?.strip_suffix('\''))
        .map(str::to_owned)
        .collect()
}

/// The blob data actions of the built-in roles a module assigns by id (as documented in "Azure
/// built-in roles"; wildcards expanded to the actions the port can call).
fn builtin(bicep: &str) -> BTreeSet<String> {
    const BLOBS: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/";
    let roles: [(&str, &[&str]); 3] = [
        // Storage Blob Data Reader
        ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", &["read"]),
        // Storage Blob Data Contributor
        (
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            &["read", "write", "delete"],
        ),
        // Storage Blob Data Owner (blobs/*)
        (
            "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
            &[
                "read",
                "write",
                "delete",
                "tags/read",
                "tags/write",
                "filter/action",
            ],
        ),
    ];
    roles
        .iter()
        .filter(|(id, _)| bicep.contains(id))
        .flat_map(|(_, actions)| actions.iter().map(|a| [BLOBS, a].concat()))
        .collect()
}

/// Differences between what was exercised on `(account, container)` and what `file` grants.
fn drift(seen: &Seen, account: &str, container: &str, file: &str) -> Vec<String> {
    let used = seen
        .get(&(account.to_owned(), container.to_owned()))
        .cloned()
        .unwrap_or_default();
    let grants = granted(file);
    let mut out: Vec<String> = used
        .iter()
        .filter(|(action, _)| !grants.contains(*action))
        .map(|(action, fns)| {
            format!("{fns:?} call {action} on container {container}, which infra/modules/{file} does not grant")
        })
        .collect();
    out.extend(grants.iter().filter(|a| !used.contains_key(*a)).map(|a| {
        format!("infra/modules/{file} grants {a} on {container}, which no function uses")
    }));
    out
}

#[tokio::test]
async fn bastion_containers_get_exactly_the_actions_the_functions_use() {
    let seen = exercise().await;
    let mut problems = drift(&seen, "strec", RECORDINGS, "recordings-access.bicep");
    problems.extend(drift(&seen, "stlogs", AUDIT_LOGS, "auditlogs-access.bicep"));
    for (account, c) in seen.keys() {
        let known = matches!(
            (account.as_str(), c.as_str()),
            ("strec", RECORDINGS) | ("stlogs", AUDIT_LOGS) | ("stapp", _)
        );
        if !known {
            problems.push(format!(
                "calls on {account}/{c}, where no module grants anything"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "permission drift:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn drift_names_both_sides() {
    let mut seen = Seen::new();
    let mut used = BTreeMap::new();
    used.insert(
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write".to_owned(),
        BTreeSet::from(["RecordingCreated".to_owned()]),
    );
    seen.insert(("strec".into(), RECORDINGS.into()), used);
    let found = drift(&seen, "strec", RECORDINGS, "recordings-access.bicep");
    assert!(
        found.iter().any(|p| p.contains("RecordingCreated")
            && p.contains("blobs/write")
            && p.contains("recordings-access.bicep")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("which no function uses")),
        "{found:?}"
    );
}
