//! devhost with the REAL `handler` and the repository's `functions/` on Azurite.

use bastion_recordings::storage::{BlobRef, BlobStore};
use bytes::Bytes;

use super::Devhost;
use super::azure::{T, blobs, conn};
use crate::harness::azurite;

#[tokio::test]
async fn real_handler_catalogues_a_recording_uploaded_to_azurite() {
    use bastion_recordings::catalogue::RECORDINGS_TABLE;
    use bastion_recordings::catalogue::recording::RecordingKey;
    use bastion_recordings::tables::TableStore;
    use bastion_recordings::tables::rest::TableRestClient;

    let Some(cs) = azurite() else { return };
    let az = crate::harness::AzuriteEnv::new(&cs);
    let mut env = az.pairs();
    env.extend([
        ("DEVHOST_POLL_MS", "100"),
        ("DEVHOST_QUEUE_POLL_MS", "100"),
        ("LOG_FORMAT", "text"),
    ]);
    // Only the Event Grid path is under test: keep the scheduled and queue-triggered functions quiet.
    for f in [
        "AuditLogTail",
        "Reconcile",
        "RetentionSweep",
        "NotifyWebhook",
    ] {
        env.push((
            Box::leak(format!("AzureWebJobs.{f}.Disabled").into_boxed_str()),
            "true",
        ));
    }
    let d = Devhost::spawn(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        Some(env!("CARGO_BIN_EXE_handler")),
        &env,
    )
    .await;
    d.wait_log("devhost watching function=RecordingCreated", T)
        .await;
    let container = az.recordings();
    let name = "vm-app-01/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.mp4";
    blobs(&cs)
        .put(
            &BlobRef::new(container, name),
            Bytes::from_static(b"recording"),
            "video/mp4",
            &Default::default(),
        )
        .await
        .expect("upload");
    d.wait_log("devhost delivered function=RecordingCreated", T)
        .await;
    let tables = TableRestClient::new(&conn(&cs), az.get("TABLE_PREFIX")).expect("tables");
    let page = tables
        .query(RECORDINGS_TABLE, None, None, None)
        .await
        .expect("query");
    let keys: Vec<_> = page
        .items
        .iter()
        .filter_map(|s| {
            Some(RecordingKey {
                pk: s.entity.get("PartitionKey")?.as_str()?.to_owned(),
                rk: s.entity.get("RowKey")?.as_str()?.to_owned(),
            })
        })
        .filter_map(|k| k.blob())
        .map(|p| (p.container, p.name))
        .collect();
    assert_eq!(
        keys,
        vec![(container.to_owned(), name.to_owned())],
        "{}",
        d.log_text()
    );
}
