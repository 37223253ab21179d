//! Audit logs end to end on Azurite with real append blobs, through the real `handler` process:
//! empty `PT1H.json` → `AuditLogCreated` → appends (incl. a partial line) → `AuditLogTail` ticks →
//! `sessions` rows; late records in a later hour's blob; legacy format; duplicates; racing ticks;
//! corrupt lines; the recording join from `RecordingCreated`.

use std::sync::Arc;

use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::connection::StorageConnection;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Entity, TableStore, get_str};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::harness::{self, AzuriteEnv, HandlerProcess, fixture, fixture_bytes};

const ALICE: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";
const HOST: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU";

fn hour_path(h: u8) -> String {
    format!("{HOST}/y=2025/m=03/d=14/h={h:02}/m=00/PT1H.json")
}

struct Env {
    handler: HandlerProcess,
    env: AzuriteEnv,
    blobs: Arc<dyn BlobStore>,
    tables: Arc<dyn TableStore>,
}

async fn start() -> Option<Env> {
    let cs = harness::azurite()?;
    let env = AzuriteEnv::new(&cs);
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let conn = StorageConnection::resolve("T", &|k| (k == "T").then(|| cs.clone())).expect("parses").expect("set");
    let blobs: Arc<dyn BlobStore> = Arc::new(AzureBlobStore::new(&conn).expect("blob client"));
    let tables: Arc<dyn TableStore> = Arc::new(TableRestClient::new(&conn, env.get("TABLE_PREFIX")).expect("table client"));
    Some(Env { handler, env, blobs, tables })
}

/// A fixture invocation with the event pointed at `container/name` on Azurite's account.
fn event_invocation(file: &str, container: &str, name: &str) -> Value {
    let mut inv = fixture(file);
    let ev = &mut inv["Data"]["eventGridEvent"];
    ev["topic"] = json!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1");
    ev["subject"] = json!(format!("/blobServices/default/containers/{container}/blobs/{name}"));
    ev["data"]["url"] = json!(format!("http://127.0.0.1:10000/devstoreaccount1/{container}/{name}"));
    inv
}

fn tick_invocation() -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("AuditLogTail");
    inv["Metadata"]["sys"]["UtcNow"] = json!("2025-03-14T11:30:00.0000000Z");
    inv
}

/// The number before `label` in the invocation's log line (the tick summary).
fn count(reply: &Value, label: &str) -> u64 {
    let log = reply["Logs"][0].as_str().unwrap_or_default();
    let words: Vec<&str> = log.split([' ', ',', ':', '(']).filter(|w| !w.is_empty()).collect();
    let at = words.iter().position(|w| *w == label).unwrap_or_else(|| panic!("no `{label}` in {log}"));
    words[at - 1].parse().unwrap_or_else(|_| panic!("no count before `{label}` in {log}"))
}

impl Env {
    fn logs(&self) -> String {
        self.env.get("AUDITLOGS_CONTAINER").to_owned()
    }

    async fn create(&self, h: u8) -> Value {
        let blob = BlobRef::new(self.logs(), hour_path(h));
        self.blobs.create_append(&blob, "application/json").await.expect("create append blob");
        let (status, reply) =
            self.handler.invoke("AuditLogCreated", &event_invocation("invocations/auditlog-created.invocation.json", &self.logs(), &hour_path(h))).await;
        assert_eq!(status, 200, "{reply} {}", self.handler.log_text());
        reply
    }

    async fn append(&self, h: u8, text: &[u8]) {
        self.blobs.append(&BlobRef::new(self.logs(), hour_path(h)), Bytes::copy_from_slice(text)).await.expect("append");
    }

    async fn tick(&self) -> Value {
        let (status, reply) = self.handler.invoke("AuditLogTail", &tick_invocation()).await;
        assert_eq!(status, 200, "{reply} {}", self.handler.log_text());
        reply
    }

    async fn session(&self, tunnel: &str) -> Option<Entity> {
        self.tables.get("sessions", tunnel, "session").await.expect("get session").map(|s| s.entity)
    }
}

fn record(tunnel: &str, time: &str, message: &str, extra: &str) -> String {
    format!(
        r#"{{"time":"{time}","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"userName":"u","protocol":"ssh","clientIpAddress":"203.0.113.9","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-E2E","message":"{message}","tunnelId":"{tunnel}"{extra}}}}}"#
    ) + "\n"
}

#[tokio::test]
async fn append_blob_tailing_builds_sessions() {
    let Some(e) = start().await else { return };
    let reply = e.create(9).await;
    assert_eq!(count(&reply, "records"), 0, "empty at creation: {reply}");
    let sample = fixture_bytes("auditlogs/PT1H.sample.jsonl");
    e.append(9, &sample).await;
    let reply = e.tick().await;
    assert_eq!(count(&reply, "records"), 4, "the partial 5th line waits: {reply}");
    let alice = e.session(ALICE).await.expect("alice");
    assert_eq!(get_str(&alice, "TargetVm"), Some("vm-app-01"));
    assert_eq!(get_str(&alice, "Outcome"), Some("connected"));
    assert!(get_str(&alice, "SessionEnd").is_some_and(|v| v.starts_with("2025-03-14T09:41:58")));
    assert_eq!(count(&e.tick().await, "records"), 0, "416: nothing new");
    e.append(9, br#"EU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","properties":{"tunnelId":"d0d0d0d0-0000-4000-8000-000000000005","message":"Successfully Connected."}}"#).await;
    e.append(9, b"\n{corrupt line\n").await;
    let reply = e.tick().await;
    assert_eq!((count(&reply, "records"), count(&reply, "corrupt")), (1, 1), "{reply}");
    let quarantined = e.blobs.list(e.env.get("QUARANTINE_CONTAINER"), Some("AuditLogTail/"), None).await.expect("list").items;
    assert_eq!(quarantined.len(), 1, "corrupt line quarantined once");
    assert_eq!(count(&e.tick().await, "corrupt"), 0, "and skipped for good");

    // Duplicate creation event: the cursor keeps its offset (no re-read of the whole blob).
    assert_eq!(count(&e.create_again(9).await, "records"), 0);
    // Late end record for the 08:59 session arrives in the next hour's blob.
    e.create(10).await;
    e.append(10, record("c0ffee00-1111-4222-8333-444455556666", "2025-03-14T10:20:00Z", "x", r#","sessionEndTime":"2025-03-14T10:19:00Z","duration":1140100"#).as_bytes()).await;
    e.tick().await;
    let late = e.session("c0ffee00-1111-4222-8333-444455556666").await.expect("session");
    assert!(get_str(&late, "SessionEnd").is_some_and(|v| v.starts_with("2025-03-14T10:19:00")), "{late:?}");
    assert_eq!(get_str(&late, "UserName"), Some("azureuser"), "fields from both blobs merged");
}

impl Env {
    async fn create_again(&self, h: u8) -> Value {
        let (status, reply) =
            self.handler.invoke("AuditLogCreated", &event_invocation("invocations/auditlog-created.invocation.json", &self.logs(), &hour_path(h))).await;
        assert_eq!(status, 200, "{reply}");
        reply
    }
}

#[tokio::test]
async fn racing_ticks_legacy_format_and_duplicates() {
    let Some(e) = start().await else { return };
    e.create(9).await;
    let lines: String = (0..40).map(|i| record(&format!("00000000-0000-4000-8000-{i:012}"), "2025-03-14T09:10:00Z", "Successfully Connected.", "")).collect();
    e.append(9, lines.as_bytes()).await;
    e.append(9, lines.as_bytes()).await; // every record twice
    let (a, b) = tokio::join!(e.tick(), e.tick());
    assert_eq!(count(&a, "records") + count(&b, "records"), 80, "each record read by exactly one tick: {a} {b}");
    assert_eq!(count(&e.tick().await, "records"), 0);
    assert!(e.session("00000000-0000-4000-8000-000000000039").await.is_some());

    e.create(11).await;
    e.append(11, &fixture_bytes("auditlogs/PT1H.legacy-records.json")).await;
    let reply = e.tick().await;
    assert_eq!(count(&reply, "records"), 1, "{reply}");
    assert!(e.session("712faceb-b556-449e-b7ab-101b326bfd4c").await.is_some());
}

#[tokio::test]
async fn recording_arriving_after_its_session_is_joined() {
    let Some(e) = start().await else { return };
    e.create(9).await;
    e.append(9, &fixture_bytes("auditlogs/PT1H.sample.jsonl")).await;
    e.tick().await;
    let container = e.env.get("RECORDINGS_CONTAINER").to_owned();
    let name = format!("PLACEHOLDER-{ALICE}");
    e.blobs.put(&BlobRef::new(container.clone(), name.clone()), Bytes::from_static(b"rec"), "application/octet-stream", &Metadata::new()).await.expect("put");
    let inv = event_invocation("invocations/recording-created.invocation.json", &container, &name);
    let (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{reply} {}", e.handler.log_text());
    let rows = e.tables.query("recordings", None, None, None).await.expect("query").items;
    assert_eq!(rows.len(), 1);
    let row = &rows[0].entity;
    assert_eq!(get_str(row, "MatchConfidence"), Some("exact"), "{row:?}");
    assert_eq!(get_str(row, "UserEmail"), Some("alice@contoso.com"));
    assert_eq!(get_str(row, "TunnelId"), Some(ALICE));
}
