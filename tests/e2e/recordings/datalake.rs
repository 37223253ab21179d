//! Data Lake removals only `StorageBlobLogs` show, end to end on Azurite (the Log Analytics fake
//! answering rows under the logged operation names, azure-docs
//! `articles/storage/blobs/map-rest-apis-transaction-categories.md`): a directory renamed away
//! (`RenamePathDir`, the source in `SourceUri`) and a whole file system deleted
//! (`DeleteFilesystem`) mark each recording they removed `deleted-outside-retention` and alert
//! `recording.deleted` once each, with the log row's requester as the actor.

use bastion_recordings::storage::{BlobRef, BlobStore};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::unannounced::{UPN, custody_rig, custody_tick, ingest, logged, of_type, row, sent};
use crate::harness::azurite;

/// The alerts and follow-ups of `v` for the recordings `ids`: each deleted once, its actor the
/// logged requester of operation `op`.
async fn each_deleted_by(rig: &super::Rig, v: &Value, ids: &[String], op: &str) {
    let out = sent(v);
    let deleted = of_type(&out, "recording.deleted");
    assert_eq!(deleted.len(), ids.len(), "{v}");
    for id in ids {
        let alerts: Vec<_> = (deleted.iter())
            .filter(|d| d["data"]["recordingId"] == id.as_str())
            .collect();
        assert_eq!(alerts.len(), 1, "{id}: {v}");
        let follow = format!(
            "{}.actor",
            alerts[0]["notificationId"].as_str().expect("id")
        );
        let actor: Vec<_> = (of_type(&out, "recording.actor").into_iter())
            .filter(|a| a["notificationId"] == follow.as_str())
            .collect();
        assert_eq!(actor.len(), 1, "{id}: {v}");
        assert_eq!(
            (
                &actor[0]["data"]["operation"],
                &actor[0]["data"]["requesterUpn"]
            ),
            (&json!(op), &json!(UPN)),
            "{v}"
        );
        let r = row(rig, id).await;
        assert_eq!(
            (&r["Status"], &r["ActorOperation"]),
            (&json!("deleted-outside-retention"), &json!(op)),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn a_directory_renamed_away_and_a_file_system_deleted_alert_with_their_actor() {
    let Some(cs) = azurite() else { return };
    let fake = bastion_testkit::loganalytics::FakeLogs::default();
    let rig = custody_rig(&cs, &fake, "60").await;
    let account = "devstoreaccount1";
    let container = rig.container();
    let moved = ["day/a.rec", "day/b.rec"];
    let mut ids = Vec::new();
    for name in moved {
        ids.push(rig.catalogued(name).await.id());
    }
    let stays = rig.catalogued("kept.rec").await.id();
    // `day` renamed to `moved-away` (Azurite has no Data Lake endpoint: the same names moved by
    // hand); the row names the destination, its SourceUri the source.
    for name in moved {
        rig.upload(&name.replace("day/", "moved-away/"), &[]).await;
        let blob = BlobRef::new(container.clone(), name);
        rig.blobs()
            .delete_guarded(&blob, None, None)
            .await
            .expect("delete");
    }
    let now = OffsetDateTime::now_utc();
    let mut rename = logged(
        account,
        &format!("/{account}/{container}/moved-away"),
        "RenamePathDir",
        now - Duration::seconds(5),
        "5b2c7d1e-101f-0033-1a2b-c3d4e5000d01",
    );
    rename.insert(
        "SourceUri".into(),
        json!(format!(
            "https://{account}.dfs.core.windows.net/{container}/day"
        )),
    );
    ingest(&fake, rename);
    let v = custody_tick(&rig, now + Duration::minutes(1)).await;
    each_deleted_by(&rig, &v, &ids, "RenamePathDir").await;
    assert_eq!(row(&rig, &stays).await["Status"], "catalogued");

    // The whole file system deleted through the Data Lake endpoint.
    rig.delete_container(&container).await;
    let now = OffsetDateTime::now_utc();
    let key = format!("/{account}/{container}");
    let request = "5b2c7d1e-101f-0033-1a2b-c3d4e5000d02";
    ingest(
        &fake,
        logged(
            account,
            &key,
            "DeleteFilesystem",
            now - Duration::seconds(5),
            request,
        ),
    );
    let v = custody_tick(&rig, now + Duration::minutes(2)).await;
    each_deleted_by(&rig, &v, std::slice::from_ref(&stays), "DeleteFilesystem").await;
    // Read again: nothing new.
    let v = custody_tick(&rig, now + Duration::minutes(3)).await;
    assert!(of_type(&sent(&v), "recording.deleted").is_empty(), "{v}");
}
