//! Changes no event announces, end to end on Azurite: a Data Lake delete seen only in
//! `StorageBlobLogs` (the Log Analytics fake answering documented rows), of a catalogued name or
//! of one the catalogue never read, and a whole container deleted become `recording.deleted`
//! with the log row's requester as actor, under the id the `BlobDeleted` of the same request
//! would give; without logs, the daily listing in `Reconcile`
//! finds a vanished blob and a changed ETag. A storm of 1,000 overwrites is folded into one
//! burst alert with the count and does not hold back a real deletion's actor.

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_testkit::loganalytics::blobs;
use bastion_testkit::loganalytics::{FakeLogs, serve};
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::Rig;
use crate::harness::{azurite, fixture};

const WS: &str = "c0ffee00-0000-4000-8000-000000000056";
pub(super) const UPN: &str = "<i>mallory</i>@contoso.example";

/// One `CustodyActor` run at `at`, answered 200; its body.
pub(super) async fn custody_tick(rig: &Rig, at: OffsetDateTime) -> Value {
    let (status, v) = rig
        .handler
        .invoke("CustodyActor", &timer("CustodyActor", at))
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

fn timer(method: &str, at: OffsetDateTime) -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!(method);
    inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc(at));
    inv
}

pub(super) fn sent(v: &Value) -> Vec<Value> {
    match &v["Outputs"]["notifications"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

pub(super) fn of_type<'a>(v: &'a [Value], kind: &str) -> Vec<&'a Value> {
    v.iter().filter(|n| n["type"] == kind).collect()
}

/// A `StorageBlobLogs` row with the table reference's columns
/// (learn.microsoft.com azure/azure-monitor/reference/tables/storagebloblogs), ingested now. `op`
/// is a logged operation name (azure-docs `articles/storage/blobs/map-rest-apis-transaction-categories.md`,
/// "Logged operation"), sent to the Blob or the Data Lake endpoint as its REST API is, with the
/// status its reference answers and its category (deletes `StorageDelete`, other writes
/// `StorageWrite`).
pub(super) fn log(
    fake: &FakeLogs,
    account: &str,
    key: &str,
    op: &str,
    at: OffsetDateTime,
    request: &str,
) {
    ingest(fake, logged(account, key, op, at, request));
}

/// Ingests `values` now as a `StorageBlobLogs` row of the workspace.
pub(super) fn ingest(fake: &FakeLogs, values: serde_json::Map<String, Value>) {
    fake.ingest(WS, blobs::row(values, OffsetDateTime::now_utc()));
}

/// The columns of [`log`]'s row.
pub(super) fn logged(
    account: &str,
    key: &str,
    op: &str,
    at: OffsetDateTime,
    request: &str,
) -> serde_json::Map<String, Value> {
    let data_lake = [
        "CreatePathFile",
        "AppendFile",
        "FlushFile",
        "RenamePathFile",
        "RenamePathDir",
        "DeleteFile",
        "DeleteDirectory",
        "DeleteFilesystem",
    ];
    let endpoint = if data_lake.contains(&op) {
        "dfs"
    } else {
        "blob"
    };
    let status = match op {
        "DeleteBlob" | "DeleteContainer" | "DeleteFilesystem" | "AppendFile" => "202",
        "PutBlob" | "PutBlockList" | "CreatePathFile" | "RenamePathFile" | "RenamePathDir" => "201",
        _ => "200",
    };
    let values = json!({
        "TimeGenerated": bastion_recordings::dates::format_utc(at), "AccountName": account,
        "OperationName": op, "StatusCode": status, "StatusText": "Success",
        "Uri": format!("https://{account}.{endpoint}.core.windows.net{}", &key[account.len() + 1..]),
        "ObjectKey": key, "CallerIpAddress": "203.0.113.7:50112",
        "RequesterObjectId": "0b7c1a3e-0000-4000-8000-00000000000a", "RequesterUpn": UPN,
        "RequesterAppId": "", "AuthenticationType": "OAuth", "CorrelationId": request,
        "UserAgentHeader": "azsdk-python-storage-dfs/12.0", "Protocol": "HTTPS",
        "Category": if op.starts_with("Delete") { "StorageDelete" } else { "StorageWrite" },
        "ServiceType": "blob", "Location": "westeurope",
    });
    values.as_object().cloned().unwrap_or_default()
}

/// Deletes `name` (no `BlobDeleted` is sent), logs the Data Lake delete as request `request`,
/// and runs the custody tick that reads it; its body.
async fn deleted_in_the_logs_only(rig: &Rig, fake: &FakeLogs, name: &str, request: &str) -> Value {
    let blob = BlobRef::new(rig.container(), name);
    rig.blobs()
        .delete_guarded(&blob, None, None)
        .await
        .expect("delete");
    let now = OffsetDateTime::now_utc();
    let key = format!("/devstoreaccount1/{}/{name}", rig.container());
    log(
        fake,
        "devstoreaccount1",
        &key,
        "DeleteFile",
        now - Duration::seconds(5),
        request,
    );
    custody_tick(rig, now + Duration::minutes(1)).await
}

/// After a delete only the logs showed (request `request`, read at `now` + 1 min, alerted as
/// `alert`): the next tick reads nothing new, and a late `BlobDeleted` of the same request
/// alerts under the same id (delivery drops the repeat).
async fn then_quiet_and_the_late_event_alerts_under(
    rig: &Rig,
    name: &str,
    request: &str,
    now: OffsetDateTime,
    alert: &str,
) {
    let v = custody_tick(rig, now + Duration::minutes(2)).await;
    assert!(of_type(&sent(&v), "recording.deleted").is_empty(), "{v}");
    let mut ev = rig.deleted(name, "eventgrid");
    ev["Data"]["eventGridEvent"]["data"]["requestId"] = json!(request);
    let (status, v) = rig.handler.invoke("RecordingCreated", &ev).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["Outputs"]["notifications"]["notificationId"], alert,
        "{v}"
    );
}

pub(super) async fn custody_rig(cs: &str, fake: &FakeLogs, wait: &str) -> Rig {
    fake.workspace(WS);
    let endpoint = serve(fake.clone()).await.expect("fake");
    Rig::with(
        cs,
        &[
            ("CUSTODY_WORKSPACE_ID", WS.to_owned()),
            ("CUSTODY_ACTOR_WAIT_MINUTES", wait.to_owned()),
            ("LOGANALYTICS_ENDPOINT", endpoint),
            ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".to_owned()),
        ],
    )
    .await
}

pub(super) async fn row(rig: &Rig, id: &str) -> serde_json::Map<String, Value> {
    let (pk, rk) = id.split_once('~').expect("id");
    let r = rig.tables().get("recordings", pk, rk).await.expect("get");
    r.expect("row kept").entity
}

#[tokio::test]
async fn a_delete_only_the_logs_show_alerts_with_its_actor_under_the_events_id() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = custody_rig(&cs, &fake, "60").await;
    let name = "dfs/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.rec";
    let id = rig.catalogued(name).await.id();
    // No BlobDeleted: only the storage log row of the Data Lake delete.
    let request = "7d1e2f3a-401f-0033-1a2b-c3d4e5000000";
    let now = OffsetDateTime::now_utc();
    let v = deleted_in_the_logs_only(&rig, &fake, name, request).await;
    let out = sent(&v);
    let deleted = of_type(&out, "recording.deleted");
    assert_eq!(deleted.len(), 1, "{v}");
    assert_eq!(deleted[0]["data"]["recordingId"], id.as_str());
    let alert = deleted[0]["notificationId"]
        .as_str()
        .expect("id")
        .to_owned();
    let actor = of_type(&out, "recording.actor");
    assert!(!actor.is_empty(), "{v}");
    assert_eq!(actor[0]["notificationId"], format!("{alert}.actor"));
    assert_eq!(actor[0]["data"]["requesterUpn"], UPN);
    assert_eq!(actor[0]["data"]["operation"], "DeleteFile");
    let r = row(&rig, &id).await;
    assert_eq!(r["Status"], "deleted-outside-retention", "{r:?}");
    assert_eq!(r["ActorUpn"], UPN);
    assert!(
        r["ActorReason"]
            .as_str()
            .is_some_and(|w| w.contains("StorageBlobLogs row of the request")),
        "{r:?}"
    );
    then_quiet_and_the_late_event_alerts_under(&rig, name, request, now, &alert).await;
}

#[tokio::test]
async fn a_delete_only_the_logs_show_of_a_name_never_catalogued_is_recorded_and_alerted() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = custody_rig(&cs, &fake, "60").await;
    // Written and deleted through the Data Lake endpoint: no event was ever handled for it.
    let name = "dfs/never-catalogued/9a1b2c3d-0000-4000-8000-00000000e056.rec";
    rig.upload(name, &[]).await;
    let request = "7d1e2f3a-401f-0033-1a2b-c3d4e5000e56";
    let now = OffsetDateTime::now_utc();
    let v = deleted_in_the_logs_only(&rig, &fake, name, request).await;
    let out = sent(&v);
    let deleted = of_type(&out, "recording.deleted");
    assert_eq!(deleted.len(), 1, "{v}");
    assert_eq!(
        (
            &deleted[0]["title"],
            &deleted[0]["data"]["status"],
            &deleted[0]["data"]["blobName"],
            &deleted[0]["data"]["requestId"],
        ),
        (
            &json!("Recording deleted before it was catalogued"),
            &json!("deleted-before-catalogued"),
            &json!(name),
            &json!(request),
        ),
        "{v}"
    );
    let alert = deleted[0]["notificationId"]
        .as_str()
        .expect("id")
        .to_owned();
    let id = deleted[0]["data"]["recordingId"]
        .as_str()
        .expect("recording id")
        .to_owned();
    let actor = of_type(&out, "recording.actor");
    assert_eq!(actor.len(), 1, "{v}");
    assert_eq!(actor[0]["notificationId"], format!("{alert}.actor"));
    assert_eq!(actor[0]["data"]["requesterUpn"], UPN);
    let r = row(&rig, &id).await;
    assert_eq!(
        (&r["Status"], &r["BlobName"], &r["ActorUpn"]),
        (
            &json!("deleted-before-catalogued"),
            &json!(name),
            &json!(UPN)
        ),
        "{r:?}"
    );
    then_quiet_and_the_late_event_alerts_under(&rig, name, request, now, &alert).await;
    // The late BlobCreated of the content finds it gone: still one row, deleted.
    let (status, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(name, super::SEQ1))
        .await;
    assert_eq!(status, 200, "{v}");
    let rows: Vec<_> = (rig.rows().await.into_iter())
        .filter(|r| r["BlobName"] == name)
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["Status"], "deleted-before-catalogued", "{rows:?}");
}

#[tokio::test]
async fn a_container_deleted_alerts_from_the_logs() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = custody_rig(&cs, &fake, "60").await;
    let mut ids = Vec::new();
    let names = [
        "a.rec", "b/c.rec", "d.rec", "e.rec", "f.rec", "g.rec", "h.rec",
    ];
    for name in names {
        ids.push(rig.catalogued(name).await.id());
    }
    rig.delete_container(&rig.container()).await;
    let now = OffsetDateTime::now_utc();
    let key = format!("/devstoreaccount1/{}", rig.container());
    log(
        &fake,
        "devstoreaccount1",
        &key,
        "DeleteContainer",
        now - Duration::seconds(5),
        "dc-1",
    );
    let v = custody_tick(&rig, now + Duration::minutes(1)).await;
    let out = sent(&v);
    // The first five deletions alert at once with their actor; the other two are folded.
    let deleted = of_type(&out, "recording.deleted");
    let summary: Vec<String> = out
        .iter()
        .map(|n| {
            format!(
                "{} {} {}",
                n["type"], n["notificationId"], n["data"]["blobName"]
            )
        })
        .collect();
    assert_eq!(deleted.len(), 5, "{summary:#?}");
    let actors = of_type(&out, "recording.actor");
    assert_eq!(actors.len(), 5, "{summary:#?}");
    assert!(
        actors.iter().all(|a| a["data"]["requesterUpn"] == UPN),
        "{v}"
    );
    for id in &ids {
        assert_eq!(row(&rig, id).await["Status"], "deleted-outside-retention");
    }
    let v = custody_tick(&rig, now + Duration::minutes(20)).await;
    let burst = sent(&v);
    let burst = of_type(&burst, "recording.deleted");
    assert_eq!(burst.len(), 1, "{v}");
    assert_eq!(burst[0]["data"]["count"], 7, "{v}");
    assert_eq!(
        burst[0]["data"]["foldedAlertIds"].as_array().map(Vec::len),
        Some(2),
        "{v}"
    );
    // The burst names each recording it folds (not only the count): those not alerted alone.
    let alone: Vec<&Value> = deleted.iter().map(|d| &d["data"]["blobName"]).collect();
    let mut named: Vec<String> = (burst[0]["data"]["items"].as_array().expect("items").iter())
        .map(|i| i["blob"].as_str().expect("blob").to_owned())
        .collect();
    named.sort();
    let mut folded: Vec<String> = (names.iter())
        .filter(|n| !alone.contains(&&json!(n)))
        .map(|n| (*n).to_owned())
        .collect();
    folded.sort();
    assert_eq!(named, folded, "{v}");
    assert_eq!(burst[0]["data"]["moreItems"], 0, "{v}");
}

#[tokio::test]
async fn the_daily_listing_finds_a_vanished_blob_and_a_changed_etag_without_events() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    let gone = rig.catalogued("gone.rec").await.id();
    let changed = rig.catalogued("changed.rec").await.id();
    let blobs = rig.blobs();
    let blob = BlobRef::new(rig.container(), "gone.rec");
    blobs
        .delete_guarded(&blob, None, None)
        .await
        .expect("delete");
    let blob = BlobRef::new(rig.container(), "changed.rec");
    blobs
        .put(
            &blob,
            Bytes::from_static(b"other bytes"),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("overwrite");
    let now = OffsetDateTime::now_utc();
    let (status, v) = rig
        .handler
        .invoke("Reconcile", &timer("Reconcile", now))
        .await;
    assert_eq!(status, 200, "{v}");
    let out = sent(&v);
    let deleted = of_type(&out, "recording.deleted");
    let replaced = of_type(&out, "recording.replaced");
    assert_eq!((deleted.len(), replaced.len()), (1, 1), "{v}");
    assert_eq!(deleted[0]["data"]["recordingId"], gone.as_str());
    assert_eq!(replaced[0]["data"]["recordingId"], changed.as_str());
    assert_eq!(
        row(&rig, &gone).await["Status"],
        "deleted-outside-retention"
    );
    assert!(
        !row(&rig, &changed).await["ReplacedEtag"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    // Once a day: the next run compares nothing.
    let (_, v) = rig
        .handler
        .invoke("Reconcile", &timer("Reconcile", now + Duration::hours(1)))
        .await;
    assert!(of_type(&sent(&v), "recording.deleted").is_empty(), "{v}");
}

#[tokio::test]
async fn an_overwrite_storm_is_folded_and_a_real_deletions_actor_comes_within_two_passes() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = custody_rig(&cs, &fake, "5").await;
    let storm = "storm.rec";
    rig.catalogued(storm).await;
    let real = rig.catalogued("real.rec").await.id();
    let blob = BlobRef::new(rig.container(), storm);
    let mut alerts = 0;
    for i in 0..1000u32 {
        let v = forge(&rig, &blob, 0x0e0_0000 + i).await;
        alerts += of_type(&sent(&v), "recording.replaced").len();
    }
    assert_eq!(alerts, 5, "the first five alert, the rest are folded");
    // The real deletion (event time 2025-06-01T00:00:12Z, request 4c2359fe-…) and its log row.
    let gone = BlobRef::new(rig.container(), "real.rec");
    rig.blobs()
        .delete_guarded(&gone, None, None)
        .await
        .expect("delete");
    let (_, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.deleted("real.rec", "eventgrid"))
        .await;
    assert_eq!(
        v["Outputs"]["notifications"]["type"], "recording.deleted",
        "{v}"
    );
    let t = bastion_recordings::dates::timestamp("2025-06-01T00:00:11Z").expect("t");
    let key = format!("/devstoreaccount1/{}/real.rec", rig.container());
    log(
        &fake,
        "devstoreaccount1",
        &key,
        "DeleteBlob",
        t,
        "4c2359fe-001e-00ba-0e04-585868000000",
    );
    let mut burst = Vec::new();
    for pass in 1..=2 {
        let v = custody_tick(&rig, t + Duration::minutes(pass)).await;
        burst.extend(
            of_type(&sent(&v), "recording.replaced")
                .into_iter()
                .cloned(),
        );
    }
    let r = row(&rig, &real).await;
    assert_eq!(r["ActorStatus"], "found", "{r:?}");
    assert_eq!(r["ActorUpn"], UPN);
    assert!(
        !burst.is_empty(),
        "the storm's window closed: its burst alert"
    );
    assert!(
        burst
            .iter()
            .all(|n| n["notificationId"] == burst[0]["notificationId"])
    );
    assert_eq!(burst[0]["data"]["count"], 1000, "{:?}", burst[0]);
}

/// Overwrites `blob` with forged content `n` and hands the handler its `BlobCreated` (sequencer from
/// `n`): the answer, after asserting it is 200.
pub(super) async fn forge(rig: &Rig, blob: &BlobRef, n: u32) -> Value {
    rig.blobs()
        .put(
            blob,
            Bytes::from(format!("forged {n}")),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("overwrite");
    let seq = format!("0000000000000000000000000001A2B3000000000{n:07x}");
    let (status, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(&blob.name, &seq))
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// A delete and a re-upload under the same name that no event announced (both through the Data
/// Lake endpoint): the logs pass records the deletion (alerted once, with the log row's
/// requester) and catalogues the new content, so the row is back and the deletion stays in its
/// custody trail; the upload's own log row then adds no second alert.
#[tokio::test]
async fn a_delete_and_re_upload_only_the_logs_show_keeps_the_deletion_in_the_trail() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = custody_rig(&cs, &fake, "60").await;
    let name = "dfs/2e4f6a8c-1b3d-4f5e-8a7b-9c0d1e2f3a56.rec";
    let id = rig.catalogued(name).await.id();
    let before = row(&rig, &id).await["ETag"].clone();
    let blob = BlobRef::new(rig.container(), name);
    rig.blobs()
        .delete_guarded(&blob, None, None)
        .await
        .expect("delete");
    rig.upload(name, &[]).await;
    let now = OffsetDateTime::now_utc();
    let key = format!("/devstoreaccount1/{}/{name}", rig.container());
    let (removal, upload) = (
        "7d1e2f3a-401f-0033-1a2b-c3d4e5000f56",
        "7d1e2f3a-401f-0033-1a2b-c3d4e5000f57",
    );
    let account = "devstoreaccount1";
    log(
        &fake,
        account,
        &key,
        "DeleteFile",
        now - Duration::seconds(5),
        removal,
    );
    log(&fake, account, &key, "FlushFile", now, upload);
    let v = custody_tick(&rig, now + Duration::minutes(1)).await;
    let out = sent(&v);
    let deleted = of_type(&out, "recording.deleted");
    assert_eq!(deleted.len(), 1, "{v}");
    assert_eq!(deleted[0]["data"]["recordingId"], id.as_str());
    assert_eq!(deleted[0]["data"]["requestId"], removal, "{v}");
    let actor = of_type(&out, "recording.actor");
    assert!(
        actor
            .iter()
            .any(|a| a["data"]["requesterUpn"] == UPN && a["data"]["operation"] == "DeleteFile"),
        "{v}"
    );
    let r = row(&rig, &id).await;
    assert_eq!(r["Status"], "catalogued", "the blob is back: {r:?}");
    assert_ne!(r["ETag"], before, "the new content catalogued: {r:?}");
    let trail: Value = serde_json::from_str(r["OutsideDeletions"].as_str().expect("trail"))
        .expect("the trail's JSON");
    assert_eq!(trail[0]["requestId"], removal, "{trail}");

    // Read again: nothing new.
    let v = custody_tick(&rig, now + Duration::minutes(2)).await;
    assert!(of_type(&sent(&v), "recording.deleted").is_empty(), "{v}");
}
