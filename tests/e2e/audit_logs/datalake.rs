//! The writer check on a blob planted through the Data Lake endpoint, end to end on Azurite: no
//! Event Grid event announces it (the endpoint raises none on an account without a hierarchical
//! namespace), the hourly `Reconcile` catalogues it from the listing, and its writes are logged
//! under their logged names (azure-docs `articles/storage/blobs/map-rest-apis-transaction-categories.md`,
//! "Logged operation"): `CreatePathFile`, `AppendFile`, then `FlushFile`, which commits the
//! content (its `Etag`). Made with the account key, it does not vouch: the session it names stays
//! unrecorded and `recording.suspect` goes out once, naming the `FlushFile` request.

use bastion_recordings::storage::{BlobRef, Metadata};
use bastion_recordings::tables::get_str;
use bastion_testkit::loganalytics::{FakeLogs, blobs};
use bytes::Bytes;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::planted::{audit_hour, of_kind, recording_rows, session, utc};
use super::writer::{Seen, WS, recorded, spawn, tick};
use crate::harness;

const PLANT: &str = "d0d0d0d0-0000-4000-8000-0000000000f6";

/// A Data Lake request `op` on `name` with the account key, columns of the table reference
/// (learn.microsoft.com azure/azure-monitor/reference/tables/storagebloblogs), status as the Path
/// REST reference answers (Create 201, Update append 202, flush 200).
fn data_lake(
    fake: &FakeLogs,
    container: &str,
    name: &str,
    (op, etag): (&str, &str),
    at: OffsetDateTime,
) {
    let status = match op {
        "CreatePathFile" => "201",
        "AppendFile" => "202",
        _ => "200",
    };
    let values = json!({
        "TimeGenerated": utc(at), "AccountName": "devstoreaccount1",
        "OperationName": op, "StatusCode": status, "StatusText": "Success",
        "Uri": format!("https://devstoreaccount1.dfs.core.windows.net/{container}/{name}"),
        "ObjectKey": format!("/devstoreaccount1/{container}/{name}"),
        "CallerIpAddress": "198.51.100.23:50112", "AuthenticationType": "AccountKey",
        "AuthenticationHash": "key1(5RTE34)", "RequesterObjectId": "", "RequesterUpn": "",
        "RequesterAppId": "", "Etag": etag, "CorrelationId": format!("{op}-{name}"),
        "UserAgentHeader": "azsdk-python-storage-dfs/12.0", "Protocol": "HTTPS",
        "Category": "StorageWrite", "ServiceType": "blob", "Location": "westeurope",
    });
    let values = values.as_object().cloned().unwrap_or_default();
    fake.ingest(WS, blobs::row(values, OffsetDateTime::now_utc()));
}

#[tokio::test]
async fn a_blob_planted_through_the_data_lake_endpoint_does_not_vouch() {
    let Some(cs) = harness::azurite() else { return };
    let fake = FakeLogs::default();
    let e = spawn(&cs, &fake).await;
    let t0 = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let t = |m: i64| t0 + Duration::minutes(m);
    audit_hour(
        &e,
        t0 - Duration::hours(1),
        session(PLANT, t(-30), t(-20), "vm-p"),
    )
    .await;
    let mut seen = Seen::default();
    tick(&e, "AuditLogTail", t(0), &mut seen).await;
    // Planted: no event; the logs show the Data Lake create, append and flush.
    let container = e.env.recordings().to_owned();
    let name = format!("rec/{PLANT}.webm");
    let blob = BlobRef::new(container.clone(), name.clone());
    let body = Bytes::from(vec![7; 5000]);
    let kind = "application/octet-stream";
    e.blobs
        .put(&blob, body, kind, &Metadata::new())
        .await
        .expect("put");
    let etag = e.blobs.properties(&blob).await.expect("props").etag;
    let committed = format!("\"{}\"", etag.trim_matches('"'));
    for (op, etag) in [
        ("CreatePathFile", "\"0x8DD5A1B2C3D4E01\""),
        ("AppendFile", ""),
        ("FlushFile", committed.as_str()),
    ] {
        data_lake(&fake, &container, &name, (op, etag), t(-10));
    }
    let now = |m: i64| OffsetDateTime::now_utc() + Duration::minutes(m);
    // The logs first (the write is kept until a row exists), then the listing catalogues it.
    tick(&e, "CustodyActor", now(1), &mut seen).await;
    tick(&e, "Reconcile", now(1), &mut seen).await;
    tick(&e, "CustodyActor", now(2), &mut seen).await;
    for m in [3, 4, 6, 7] {
        tick(&e, "AuditLogTail", t(m), &mut seen).await;
    }
    let suspect = of_kind(&seen.ids, "recording.suspect");
    assert_eq!(suspect.len(), 1, "one alert: {:?}", seen.ids);
    let data = &seen.suspect[0]["data"];
    assert_eq!(data["reason"], "written-by-other-principal", "{data}");
    assert_eq!(data["writer"]["operation"], "FlushFile", "{data}");
    assert_eq!(data["writer"]["authenticationType"], "AccountKey", "{data}");
    let id = data["recordingId"].as_str().expect("id");
    let r = recording_rows(&e).await(id);
    assert_eq!(get_str(&r, "WriterOperation"), Some("FlushFile"), "{r:?}");
    assert_eq!(
        get_str(&r, "MatchReason"),
        Some("written-by-other-principal")
    );
    assert_eq!(
        recorded(&e, t(-30), [PLANT, PLANT]).await,
        [json!(false), json!(false)]
    );
}
