//! `/api/health`, `IntegrityVerify` and download links end to end: the real `handler` process on
//! Azurite, data produced by real `RecordingCreated` / `RecordingHash` invocations.
//! - health after a pipeline run shows each function's last event (flushed to table `heartbeats`)
//!   and the quarantine count after a poisoned invocation, and counts poison-queue messages;
//! - ([`verify_links`]) `IntegrityVerify` finds a tampered and a missing recording and emits both on `notifications`;
//! - with `CATALOGUE_DOWNLOAD_LINKS=true` over an account-key connection, the detail says why there
//!   is no link (never an account-key SAS) and the audit row records it.

use std::time::Duration;

use bastion_recordings::tables::TableStore;
use serde_json::Value;

use crate::harness::{HandlerProcess, azurite};
pub(super) use crate::pipeline::{PipelineRig as Rig, now};

mod verify_links;

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
    let (s, h) = rig.get_json("/api/health").await;
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
    let (_, h2) = other.get_json("/api/health").await;
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
    let bastion_recordings::azure::connection::StorageAuth::Key(key) = &conn.auth else {
        panic!("Azurite uses a key")
    };
    let signer = bastion_recordings::azure::sas::SasSigner::new(&conn.account, key.clone(), "q");
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
    let (_, before) = rig.get_json("/api/health").await;
    let before = before["poisonQueues"]["notifications-poison"]
        .as_u64()
        .expect("count");
    let msg = QueueMessage {
        message_text: Some("e30=".into()),
    };
    q.send_message(msg.try_into().expect("xml"), None)
        .await
        .expect("send");
    let (s, h) = rig.get_json("/api/health").await;
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
