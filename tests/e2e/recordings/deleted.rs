//! `BlobDeleted` on a recordings container, end to end on Azurite: a deletion outside retention
//! marks the row and alerts once, in either schema and from two instances; the retention sweep's
//! own deletion stays silent whether its event arrives before or after the tombstone.

use bastion_recordings::catalogue::recording::RecordingKey;
use bastion_recordings::retention::tombstone::{DELETIONS_TABLE, Tombstone, write_intent};
use bastion_recordings::storage::BlobStore;
use bastion_recordings::tables::TableStore;
use serde_json::{Value, json};

use super::{Rig, SEQ1};
use crate::harness::{HandlerProcess, azurite, first_log, fixture};

const DEL_SEQ: &str = "0000000000000000000000000001A2B30000000000f00000";

impl Rig {
    /// A `BlobDeleted` invocation for `name` in the fixture `schema` (`eventgrid`, `cloudevents`).
    pub(super) fn deleted(&self, name: &str, schema: &str) -> Value {
        let mut ev = fixture(&format!("events/blob-deleted.{schema}.json"));
        let topic = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1";
        ev[if schema == "eventgrid" {
            "topic"
        } else {
            "source"
        }] = json!(topic);
        ev["subject"] = json!(format!(
            "/blobServices/default/containers/{}/blobs/{name}",
            self.container()
        ));
        ev["data"]["url"] = json!(format!(
            "http://127.0.0.1:10000/devstoreaccount1/{}/{name}",
            self.container()
        ));
        ev["data"]["sequencer"] = json!(DEL_SEQ);
        json!({"Data": {"eventGridEvent": ev}, "Metadata": {}})
    }

    /// Uploads and catalogues `name`; its row's key.
    pub(super) async fn catalogued(&self, name: &str) -> RecordingKey {
        self.upload(name, &[]).await;
        let (status, v) = self
            .handler
            .invoke("RecordingCreated", &self.invocation(name, SEQ1))
            .await;
        assert!(
            status == 200 && first_log(&v).starts_with("catalogued"),
            "{v}"
        );
        let id = v["Outputs"]["notifications"]["data"]["recordingId"]
            .as_str()
            .expect("id");
        RecordingKey::parse(id).expect("key")
    }

    async fn status(&self, key: &RecordingKey) -> Value {
        let row = self.tables().get("recordings", &key.pk, &key.rk).await;
        row.expect("row").expect("row kept").entity["Status"].clone()
    }
}

#[tokio::test]
async fn an_outside_delete_alerts_once_in_both_schemas_from_two_instances() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    let twin = HandlerProcess::spawn(&rig.env.pairs()).await;
    for (schema, name) in [
        (
            "eventgrid",
            "<b>x</b>/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.rec",
        ),
        ("cloudevents", "plain.rec"),
    ] {
        let key = rig.catalogued(name).await;
        let blob = bastion_recordings::storage::BlobRef::new(rig.container(), name);
        rig.blobs()
            .delete_guarded(&blob, None, None)
            .await
            .expect("delete");
        let inv = rig.deleted(name, schema);
        let runs = futures::future::join_all([
            rig.handler.invoke("RecordingCreated", &inv),
            twin.invoke("RecordingCreated", &inv),
            rig.handler.invoke("RecordingCreated", &inv),
        ])
        .await;
        let mut ids: Vec<&str> = runs
            .iter()
            .map(|(s, v)| {
                assert_eq!(*s, 200, "{v}");
                let n = &v["Outputs"]["notifications"];
                assert_eq!(
                    (n["type"].as_str(), n["severity"].as_str()),
                    (Some("recording.deleted"), Some("critical")),
                    "{v}"
                );
                assert!(
                    n["title"]
                        .as_str()
                        .is_some_and(|t| t.contains("before its retainUntil")),
                    "{v}"
                );
                assert_eq!(n["data"]["blobName"], name, "the name as data, verbatim");
                n["notificationId"].as_str().expect("id")
            })
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 1, "one stable id: {runs:?}");
        assert_eq!(rig.status(&key).await, "deleted-outside-retention");
        let row = rig
            .tables()
            .get("recordings", &key.pk, &key.rk)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(row.entity["DeletionReason"], "outside-retention");
        // A later delivery of the older creation event does not bring the row back.
        let (_, v) = rig
            .handler
            .invoke("RecordingCreated", &rig.invocation(name, SEQ1))
            .await;
        assert!(first_log(&v).starts_with("skipped"), "{v}");
        assert_eq!(rig.status(&key).await, "deleted-outside-retention");
    }
    // A name the catalogue never held: deleted before it was catalogued, alerted too.
    let (_, v) = rig
        .handler
        .invoke(
            "RecordingCreated",
            &rig.deleted("never-catalogued", "eventgrid"),
        )
        .await;
    assert!(
        first_log(&v).contains("deleted before it was catalogued"),
        "{v}"
    );
}

#[tokio::test]
async fn the_sweeps_own_delete_is_silent_before_and_after_its_tombstone() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    // Event first: the sweep wrote its intent and deleted; its tombstone is not written yet.
    let key = rig.catalogued("swept-early.rec").await;
    let intent = Tombstone {
        key: key.clone(),
        blob_url: String::new(),
        catalogue_key: Some(key.id()),
        class: "ops-30d".into(),
        retain_until: "2025-01-01".into(),
        sha256: None,
        invocation_id: "sweep".into(),
        reason: "retention-expired".into(),
        etag: String::new(),
    };
    write_intent(&rig.tables(), &intent).await.expect("intent");
    let blob = bastion_recordings::storage::BlobRef::new(rig.container(), "swept-early.rec");
    rig.blobs()
        .delete_guarded(&blob, None, None)
        .await
        .expect("delete");
    let (_, v) = rig
        .handler
        .invoke(
            "RecordingCreated",
            &rig.deleted("swept-early.rec", "eventgrid"),
        )
        .await;
    assert!(first_log(&v).contains("retention's own deletion"), "{v}");
    assert!(v["Outputs"].get("notifications").is_none(), "{v}");
    assert_eq!(
        rig.status(&key).await,
        "catalogued",
        "the sweep writes its own status"
    );

    // Tombstone first: the real sweep ran (a year later) and finished, then the event arrives.
    let key = rig.catalogued("swept-late.rec").await;
    let mut timer = fixture("invocations/timer.invocation.json");
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(400);
    timer["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc(later));
    let (status, v) = rig.handler.invoke("RetentionSweep", &timer).await;
    assert_eq!(status, 200, "{v}");
    let tomb = rig
        .tables()
        .get(DELETIONS_TABLE, &key.pk, &key.rk)
        .await
        .expect("get");
    assert!(tomb.is_some(), "tombstone written: {v}");
    for schema in ["eventgrid", "cloudevents"] {
        let (_, v) = rig
            .handler
            .invoke("RecordingCreated", &rig.deleted("swept-late.rec", schema))
            .await;
        assert!(first_log(&v).contains("retention's own deletion"), "{v}");
        assert!(v["Outputs"].get("notifications").is_none(), "{v}");
    }
    assert_eq!(rig.status(&key).await, "deleted");
}
