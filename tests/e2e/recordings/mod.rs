//! `RecordingCreated` end to end on Azurite: the real `handler` process reads the blob through the
//! official SDK, writes the catalogue row through the Table REST client, tags the blob, and
//! quarantines poison. The storage-call budget per event is measured in `calls`.

mod actor;
mod before;
mod burst_actors;
mod calls;
mod datalake;
mod deleted;
mod replaced;
mod retagged;
mod unannounced;

use bastion_recordings::azure::sdk;
use bastion_recordings::config::Config;
use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
use bastion_recordings::storage::azure::{AzureBlobStore, service_client};
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata, Tags};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Filter, TableStore};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::harness::{AzuriteEnv, HandlerProcess, azurite, fixture};

pub(crate) const SEQ1: &str = "0000000000000000000000000001A2B30000000000c0ffee";
const SEQ2: &str = "0000000000000000000000000001A2B30000000000d00d00";

pub(crate) struct Rig {
    pub(crate) env: AzuriteEnv,
    pub(crate) config: Config,
    pub(crate) handler: HandlerProcess,
}

impl Rig {
    pub(crate) async fn new(cs: &str) -> Self {
        Self::with(cs, &[]).await
    }

    /// A rig whose handler has `extra` settings too.
    pub(crate) async fn with(cs: &str, extra: &[(&str, String)]) -> Self {
        let mut env = AzuriteEnv::new(cs);
        for (k, v) in extra {
            env.vars.insert((*k).to_owned(), v.clone());
        }
        let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
        let handler = HandlerProcess::spawn(&env.pairs()).await;
        Self {
            env,
            config,
            handler,
        }
    }

    pub(crate) fn conn(&self) -> &bastion_recordings::azure::connection::StorageConnection {
        &self.config.storage.app
    }

    pub(crate) fn blobs(&self) -> AzureBlobStore {
        AzureBlobStore::new(self.conn()).expect("blob store")
    }

    /// Deletes `container` and every blob in it, outside the product.
    pub(crate) async fn delete_container(&self, container: &str) {
        let (options, credential) = sdk::options(self.conn(), "b").expect("client options");
        let service = service_client(&self.conn().blob, credential, options).expect("client");
        let client = service.blob_container_client(container);
        client.delete(None).await.expect("delete container");
    }

    pub(crate) fn tables(&self) -> TableRestClient {
        TableRestClient::new(self.conn(), &self.config.table_prefix).expect("tables")
    }

    pub(crate) fn container(&self) -> String {
        self.env.recordings().to_owned()
    }

    pub(crate) async fn upload(&self, name: &str, meta: &[(&str, &str)]) -> BlobRef {
        let blob = BlobRef::new(self.container(), name);
        let meta: Metadata = meta
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.blobs()
            .put(
                &blob,
                Bytes::from_static(b"recording bytes"),
                "application/octet-stream",
                &meta,
            )
            .await
            .expect("upload");
        blob
    }

    /// The fixture invocation, pointed at this test's account/container/blob.
    pub(crate) fn invocation(&self, name: &str, seq: &str) -> Value {
        let mut inv = fixture("invocations/recording-created.invocation.json");
        let ev = &mut inv["Data"]["eventGridEvent"];
        ev["topic"] = json!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
        );
        ev["subject"] = json!(format!(
            "/blobServices/default/containers/{}/blobs/{name}",
            self.container()
        ));
        ev["data"]["url"] = json!(format!(
            "http://127.0.0.1:10000/devstoreaccount1/{}/{name}",
            self.container()
        ));
        ev["data"]["sequencer"] = json!(seq);
        inv
    }

    /// The payloads RecordingCreated quarantined.
    pub(crate) async fn quarantined(&self) -> Vec<BlobRef> {
        let quarantine = self.env.get("QUARANTINE_CONTAINER").to_owned();
        let listed = self
            .blobs()
            .list(&quarantine, Some("RecordingCreated/"), None)
            .await
            .expect("list");
        listed
            .items
            .into_iter()
            .map(|b| BlobRef::new(quarantine.clone(), b.name))
            .collect()
    }

    pub(crate) async fn rows(&self) -> Vec<serde_json::Map<String, Value>> {
        match self.tables().query("recordings", None, None, None).await {
            Ok(page) => page.items.into_iter().map(|s| s.entity).collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn log0(v: &Value) -> &str {
    v["Logs"][0].as_str().unwrap_or_default()
}

#[tokio::test]
async fn catalogues_tags_and_announces_once_under_redelivery_and_reordering() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    let name = "2025/03/14/vm-app-01/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.rec";
    let blob = rig
        .upload(
            name,
            &[("sessionid", "0B7D3C1E-2F4A-4B6C-8D9E-1A2B3C4D5E6F")],
        )
        .await;
    rig.blobs()
        .set_tags(
            &blob,
            &Tags::from([("owner".to_owned(), "secops".to_owned())]),
            None,
        )
        .await
        .expect("tags");

    // Three concurrent deliveries of the newer event, then the older one.
    let inv = rig.invocation(name, SEQ2);
    let runs =
        futures::future::join_all((0..3).map(|_| rig.handler.invoke("RecordingCreated", &inv)))
            .await;
    // A delivery that finds the row its own event wrote announces too (it cannot tell a twin from
    // its own lost answer), always under the recording's one stable id.
    let mut ids: Vec<&str> = runs
        .iter()
        .filter_map(|(s, v)| {
            assert_eq!(*s, 200, "{v}");
            v["Outputs"]["notifications"]["notificationId"].as_str()
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{runs:?}");
    let (status, older) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(name, SEQ1))
        .await;
    assert_eq!(
        (status, log0(&older).starts_with("skipped")),
        (200, true),
        "{older}"
    );

    let rows = rig.rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["Sequencer"], SEQ2);
    assert_eq!(row["Status"], "catalogued");
    assert_eq!(row["ContentLength"], "15");
    assert_eq!(
        row["CandidateKeys"],
        "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f,0b7d3c1e-2f4a-4b6c-8d9e-1a2b3c4d5e6f"
    );
    let tags = rig.blobs().get_tags(&blob).await.expect("tags");
    assert_eq!(
        tags.get("owner").map(String::as_str),
        Some("secops"),
        "other tags kept"
    );
    assert_eq!(tags.get(TAG_CLASS).map(String::as_str), Some("ops-30d"));
    assert_eq!(
        tags.get(TAG_UNTIL),
        row["RetainUntil"].as_str().map(str::to_owned).as_ref()
    );
    // The public id addresses the row.
    let id = row["RecordingId"].as_str().expect("id");
    let (pk, rk) = id.split_once('~').expect("pk~rk");
    assert!(
        rig.tables()
            .get("recordings", pk, rk)
            .await
            .expect("get")
            .is_some()
    );
    // Queryable by the partition the README documents.
    let day = rig
        .tables()
        .query("recordings", Some(&Filter::partition(pk)), None, None)
        .await
        .expect("query");
    assert_eq!(day.items.len(), 1);
}

#[tokio::test]
async fn foreign_container_and_vanished_blob_are_skipped_and_poison_is_quarantined() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    let mut foreign = rig.invocation("x", SEQ1);
    foreign["Data"]["eventGridEvent"]["subject"] =
        json!("/blobServices/default/containers/deadletters/blobs/x");
    let (_, v) = rig.handler.invoke("RecordingCreated", &foreign).await;
    assert!(
        log0(&v).starts_with("skipped") && log0(&v).contains("container"),
        "{v}"
    );
    // A blob gone before it was read: the fact is kept (deleted before it was catalogued).
    let (_, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation("never-uploaded", SEQ1))
        .await;
    assert!(log0(&v).contains("deleted before it was catalogued"), "{v}");
    let rows = rig.rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Status"], "deleted-before-catalogued");

    let (status, _, text) = rig
        .handler
        .invoke_raw(
            "RecordingCreated",
            b"{\"Data\":{\"eventGridEvent\":{\"id\":1}}".to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let quarantined = rig.quarantined().await;
    assert_eq!(quarantined.len(), 1, "poison payload quarantined");
    let body = rig
        .blobs()
        .read_range(&quarantined[0], 0, 1 << 20)
        .await
        .expect("read");
    let doc: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(doc["function"], "RecordingCreated");
    assert!(doc["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(
        doc["payload"].is_string(),
        "unparsable payload kept verbatim: {doc}"
    );
}

#[tokio::test]
async fn storage_unreachable_is_retryable_500() {
    let Some(cs) = azurite() else { return };
    let dead = cs
        .split(';')
        .map(|p| {
            if p.starts_with("TableEndpoint=") {
                "TableEndpoint=http://127.0.0.1:9/devstoreaccount1".to_owned()
            } else {
                p.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(";");
    let rig = Rig::new(&cs).await;
    rig.upload("r1", &[]).await;
    let mut env = rig.env.pairs();
    env.retain(|(k, _)| *k != "AzureWebJobsStorage");
    env.push(("AzureWebJobsStorage", &dead));
    let broken = HandlerProcess::spawn(&env).await;
    let (status, _, text) = broken
        .invoke_raw(
            "RecordingCreated",
            serde_json::to_vec(&rig.invocation("r1", SEQ1)).expect("json"),
        )
        .await;
    assert_eq!(status, 500, "{text}");
    assert!(!text.contains("sig="), "no SAS in errors: {text}");
    let logs = broken.quiet_log_text().await;
    assert!(
        !logs.contains("sig=") || logs.contains("sig=REDACTED"),
        "no SAS in logs"
    );
}

#[tokio::test]
async fn an_event_field_the_table_refuses_is_quarantined_not_retried() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    rig.upload("huge-sequencer.mp4", &[]).await;
    let huge = ["0".repeat(69_999), "1".to_owned()].concat();
    let (status, v) = rig
        .handler
        .invoke(
            "RecordingCreated",
            &rig.invocation("huge-sequencer.mp4", &huge),
        )
        .await;
    assert_eq!(status, 200, "poison is acknowledged, never 500: {v}");
    assert_eq!(rig.quarantined().await.len(), 1, "quarantined: {v}");
}
