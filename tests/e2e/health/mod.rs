//! `/api/health`, `IntegrityVerify` and download links end to end: the real `handler` process on
//! Azurite, data produced by real `RecordingCreated` / `RecordingHash` invocations.
//! - health after a pipeline run shows each function's last event (flushed to table `heartbeats`)
//!   and the quarantine count after a poisoned invocation, and counts poison-queue messages;
//! - ([`verify_links`]) `IntegrityVerify` finds a tampered and a missing recording and emits both on `notifications`;
//! - with `CATALOGUE_DOWNLOAD_LINKS=true` over an account-key connection, the detail says why there
//!   is no link (never an account-key SAS) and the audit row records it.

use std::time::Duration;

use bastion_recordings::config::{Config, Storage};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::harness::{AzuriteEnv, HandlerProcess, azurite, fixture};

mod verify_links;

pub(super) struct Rig {
    pub(super) env: AzuriteEnv,
    config: Config,
    pub(super) handler: HandlerProcess,
}

impl Rig {
    pub(super) async fn new(cs: &str, extra: &[(&str, &str)]) -> Self {
        let env = AzuriteEnv::new(cs);
        let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
        let mut pairs = env.pairs();
        pairs.extend_from_slice(extra);
        let handler = HandlerProcess::spawn(&pairs).await;
        Self {
            env,
            config,
            handler,
        }
    }

    pub(super) fn conn(&self) -> &bastion_recordings::storage::connection::StorageConnection {
        let Storage::Connected { app, .. } = &self.config.storage else {
            panic!("connected")
        };
        app
    }

    pub(super) fn blobs(&self) -> AzureBlobStore {
        AzureBlobStore::new(self.conn()).expect("blobs")
    }

    pub(super) fn tables(&self) -> TableRestClient {
        TableRestClient::new(self.conn(), &self.config.table_prefix).expect("tables")
    }

    pub(super) fn blob(&self, name: &str) -> BlobRef {
        BlobRef::new(self.env.get("RECORDINGS_CONTAINER"), name)
    }

    /// Uploads, catalogues through RecordingCreated, hashes through RecordingHash; returns the id.
    pub(super) async fn record(&self, name: &str, body: &[u8]) -> String {
        let container = self.env.get("RECORDINGS_CONTAINER");
        self.blobs()
            .put(
                &self.blob(name),
                Bytes::copy_from_slice(body),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("upload");
        let mut inv = fixture("invocations/recording-created.invocation.json");
        let ev = &mut inv["Data"]["eventGridEvent"];
        ev["eventTime"] = json!(now());
        ev["topic"] = json!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
        );
        ev["subject"] = json!(format!(
            "/blobServices/default/containers/{container}/blobs/{name}"
        ));
        ev["data"]["url"] = json!(format!(
            "http://127.0.0.1:10000/devstoreaccount1/{container}/{name}"
        ));
        let (s, out) = self.handler.invoke("RecordingCreated", &inv).await;
        assert_eq!(s, 200, "{out}");
        let req = out["Outputs"]["hashRequests"].clone();
        let message = json!({"Data": {"message": serde_json::to_string(&req.to_string()).expect("json")},
            "Metadata": {"DequeueCount": 1, "sys": {"MethodName": "RecordingHash"}}});
        let (s, out) = self.handler.invoke("RecordingHash", &message).await;
        assert_eq!(s, 200, "{out}");
        req["recordingId"].as_str().expect("id").to_owned()
    }

    pub(super) async fn get(&self, path: &str) -> (u16, Value) {
        let res = reqwest::get(self.handler.url(path)).await.expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.expect("json"))
    }
}

pub(super) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now")
}

#[tokio::test]
async fn health_after_a_pipeline_run_shows_last_events_and_quarantine() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[("HEALTH_HEARTBEAT_SECONDS", "1")]).await;
    rig.record("vm-a/1.rec", b"first").await;
    let (s, _, body) = rig
        .handler
        .invoke_raw("AuditLogCreated", b"{not json".to_vec())
        .await;
    assert_eq!(s, 200, "poison is acknowledged: {body}");
    // The serving instance answers from memory at once…
    let (s, h) = rig.get("/api/health").await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(
        h["functions"]["RecordingCreated"]["outcome"], "processed",
        "{h}"
    );
    assert_eq!(h["functions"]["RecordingHash"]["outcome"], "processed");
    assert_eq!(h["functions"]["AuditLogCreated"]["outcome"], "poisoned");
    assert_eq!(h["functions"]["IntegrityVerify"], Value::Null);
    assert_eq!(h["quarantine"]["total"], 1);
    assert_eq!(h["quarantine"]["byFunction"]["AuditLogCreated"], 1);
    assert_eq!(h["status"], "degraded");
    assert!(h["lastRecordingCreated"].is_string(), "{h}");
    assert_eq!(h["stalledRecordings"]["active"], false);
    assert!(h["poisonQueues"]["hashrequests-poison"].is_u64(), "{h}");
    // …and the flusher writes one heartbeat row per function within the interval.
    let mut rows = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = rig
            .tables()
            .query("heartbeats", None, None, None)
            .await
            .map(|p| p.items)
            .unwrap_or_default();
        if rows.len() >= 3 {
            break;
        }
    }
    let mut names: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.entity["RowKey"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["AuditLogCreated", "RecordingCreated", "RecordingHash"]
    );
    // A fresh instance (nothing in memory) reads the same from the table.
    let other = HandlerProcess::spawn(&rig.env.pairs()).await;
    let h2: Value = reqwest::get(other.url("/api/health"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        h2["functions"]["AuditLogCreated"]["outcome"], "poisoned",
        "{h2}"
    );
    assert_eq!(h2["functions"]["RecordingCreated"]["outcome"], "processed");
}

#[tokio::test]
async fn health_counts_poison_queue_messages_on_azurite() {
    use azure_storage_queue::models::QueueMessage;
    use azure_storage_queue::{QueueClient, QueueClientOptions};
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[]).await;
    let conn = rig.conn();
    let bastion_recordings::storage::connection::StorageAuth::Key(key) = &conn.auth else {
        panic!("Azurite uses a key")
    };
    let signer = bastion_recordings::storage::sas::SasSigner::new(&conn.account, key.clone(), "q");
    let mut url = conn.queue.clone();
    url.path_segments_mut()
        .expect("base")
        .pop_if_empty()
        .push("notifications-poison");
    url.set_query(Some(&signer.token()));
    let options = QueueClientOptions {
        version: "2025-11-05".into(),
        ..Default::default()
    };
    let q = QueueClient::new(url, None, Some(options)).expect("client");
    let _ = q.create(None).await; // 409 when another test created it: fine
    let (_, before) = rig.get("/api/health").await;
    let before = before["poisonQueues"]["notifications-poison"]
        .as_u64()
        .expect("count");
    let msg = QueueMessage {
        message_text: Some("e30=".into()),
    };
    q.send_message(msg.try_into().expect("xml"), None)
        .await
        .expect("send");
    let (s, h) = rig.get("/api/health").await;
    assert_eq!(s, 200, "{h}");
    assert!(
        h["poisonQueues"]["notifications-poison"]
            .as_u64()
            .expect("count")
            > before,
        "{h}"
    );
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["reasons"].to_string().contains("poison queues"), "{h}");
}
