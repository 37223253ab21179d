//! The actor of an outside deletion, end to end on Azurite with the Log Analytics fake as the
//! custody workspace: the deletion alerts once at once; `CustodyActor` finds nothing while the
//! logs are late, then records the deleter from the `StorageBlobLogs` row and sends the follow-up
//! (the alert's id + `.actor`); the detail API shows the actor and the custody trail. Logs that
//! never arrive leave the actor unknown with the reason once `CUSTODY_ACTOR_WAIT_MINUTES` is over.

use bastion_recordings::storage::{BlobRef, BlobStore};
use bastion_testkit::loganalytics::blobs;
use bastion_testkit::loganalytics::{FakeLogs, serve};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Rig;
use crate::harness::{azurite, fixture};

const WS: &str = "c0ffee00-0000-4000-8000-000000000047";
/// The fixture event's time and storage request id.
const EVENT_TIME: &str = "2025-06-01T00:00:12Z";
const REQUEST: &str = "4c2359fe-001e-00ba-0e04-585868000000";

fn tick(at: OffsetDateTime) -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("CustodyActor");
    inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc(at));
    inv
}

fn event_time() -> OffsetDateTime {
    bastion_recordings::dates::timestamp(EVENT_TIME).expect("time")
}

/// The notifications of a reply (one is an object, several an array).
fn sent(v: &Value) -> Vec<Value> {
    match &v["Outputs"]["notifications"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// One `StorageBlobLogs` row of the blob `key` (`/<account>/<container>/<name>`), columns of the
/// table reference (learn.microsoft.com azure/azure-monitor/reference/tables/storagebloblogs);
/// `op` a logged operation name (azure-docs
/// `articles/storage/blobs/map-rest-apis-transaction-categories.md`) with the status its REST
/// reference answers (Delete Blob 202, Put Blob and Path Create 201, Path Update append 202,
/// flush 200).
fn log(fake: &FakeLogs, key: &str, op: &str, at: &str, request: &str, upn: &str, agent: &str) {
    let status = match op {
        "PutBlob" | "CreatePathFile" => "201",
        "FlushFile" => "200",
        _ => "202",
    };
    let values = json!({
        "TimeGenerated": at, "OperationName": op, "StatusCode": status,
        "AuthenticationType": if upn.is_empty() { "SAS" } else { "OAuth" }, "RequesterUpn": upn,
        "RequesterObjectId": if upn.is_empty() { "" } else { "0b7c1a3e-0000-4000-8000-00000000000a" },
        "RequesterAppId": "", "CallerIpAddress": "203.0.113.7:50112", "UserAgentHeader": agent,
        "CorrelationId": request, "ObjectKey": key,
    });
    let values = values.as_object().cloned().unwrap_or_default();
    fake.ingest(WS, blobs::row(values, OffsetDateTime::now_utc()));
}

async fn rig(cs: &str, fake: &FakeLogs) -> Rig {
    fake.workspace(WS);
    let endpoint = serve(fake.clone()).await.expect("fake");
    Rig::with(
        cs,
        &[
            ("CUSTODY_WORKSPACE_ID", WS.to_owned()),
            ("CUSTODY_ACTOR_WAIT_MINUTES", "5".to_owned()),
            ("LOGANALYTICS_ENDPOINT", endpoint),
            ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".to_owned()),
        ],
    )
    .await
}

/// Deletes `name` (catalogued first) outside the product; the alert's id.
async fn delete_outside(rig: &Rig, name: &str) -> (String, String) {
    let key = rig.catalogued(name).await;
    let blob = BlobRef::new(rig.container(), name);
    rig.blobs()
        .delete_guarded(&blob, None, None)
        .await
        .expect("delete");
    let (status, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.deleted(name, "eventgrid"))
        .await;
    assert_eq!(status, 200, "{v}");
    let n = &v["Outputs"]["notifications"];
    assert_eq!(n["type"], "recording.deleted", "{v}");
    (
        n["notificationId"].as_str().expect("id").to_owned(),
        key.id(),
    )
}

#[tokio::test]
async fn the_deleter_follows_the_alert_once_the_logs_arrive() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = rig(&cs, &fake).await;
    let name = "<b>x</b>/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.rec";
    let (alert, id) = delete_outside(&rig, name).await;

    // The logs are late: the pass finds nothing and sends nothing.
    let (status, v) = rig
        .handler
        .invoke(
            "CustodyActor",
            &tick(event_time() + time::Duration::minutes(2)),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(sent(&v).is_empty(), "{v}");
    let (_, doc) = rig.handler.get_json(&format!("/api/recordings/{id}")).await;
    assert_eq!(doc["actor"], Value::Null, "{doc}");

    // A portal read and then the deletion arrive in the workspace.
    let key = format!("/devstoreaccount1/{}/{name}", rig.container());
    log(
        &fake,
        &key,
        "GetBlob",
        "2025-06-01T00:00:01Z",
        "read-1",
        "",
        "Mozilla/5.0 <script>x</script>",
    );
    log(
        &fake,
        &key,
        "DeleteBlob",
        "2025-06-01T00:00:11.5Z",
        REQUEST,
        "<i>mallory</i>@contoso.example",
        "azcopy/10 \"quoted\"",
    );
    let (status, v) = rig
        .handler
        .invoke(
            "CustodyActor",
            &tick(event_time() + time::Duration::minutes(4)),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let out = sent(&v);
    assert_eq!(out.len(), 1, "{v}");
    assert_eq!(out[0]["notificationId"], format!("{alert}.actor"));
    assert_eq!(out[0]["type"], "recording.actor");
    assert_eq!(
        out[0]["data"]["requesterUpn"],
        "<i>mallory</i>@contoso.example"
    );
    assert_eq!(out[0]["data"]["userAgent"], "azcopy/10 \"quoted\"");
    assert_eq!(out[0]["data"]["callerIpAddress"], "203.0.113.7:50112");

    // The detail shows the actor and the trail (both requests, the span it looked at).
    let (status, doc) = rig.handler.get_json(&format!("/api/recordings/{id}")).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["actor"]["status"], "found", "{doc}");
    assert_eq!(
        doc["actor"]["requesterUpn"],
        "<i>mallory</i>@contoso.example"
    );
    assert_eq!(doc["row"]["ActorStatus"], "found");
    let trail = &doc["custody"];
    assert_eq!(trail["workspace"], WS, "{doc}");
    assert!(
        trail["timespan"].as_str().is_some_and(|t| t.contains('/')),
        "{trail}"
    );
    let ops: Vec<&str> = trail["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|r| r["operation"].as_str())
        .collect();
    assert_eq!(ops, ["GetBlob", "DeleteBlob"], "{trail}");
    assert_eq!(
        trail["requests"][0]["userAgent"],
        "Mozilla/5.0 <script>x</script>"
    );
    assert_eq!(trail["capped"], false);

    // The next pass sends the same follow-up once more (delivery drops it) and is done.
    let (_, v) = rig
        .handler
        .invoke(
            "CustodyActor",
            &tick(event_time() + time::Duration::minutes(5)),
        )
        .await;
    assert_eq!(
        sent(&v)[0]["notificationId"],
        format!("{alert}.actor"),
        "{v}"
    );
    // Lookups only: each tick also reads the containers' changes (by `ingestion_time()`).
    let lookups = || {
        fake.received()
            .iter()
            .filter(|r| !r.query.contains("ingestion_time()"))
            .count()
    };
    let queries = lookups();
    let (_, v) = rig
        .handler
        .invoke(
            "CustodyActor",
            &tick(event_time() + time::Duration::minutes(6)),
        )
        .await;
    assert!(sent(&v).is_empty(), "{v}");
    assert_eq!(lookups(), queries, "no lookup left");
}

#[tokio::test]
async fn logs_that_never_arrive_leave_the_actor_unknown_after_the_wait() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = rig(&cs, &fake).await;
    let (alert, id) = delete_outside(&rig, "never-logged.rec").await;
    let (_, v) = rig
        .handler
        .invoke(
            "CustodyActor",
            &tick(event_time() + time::Duration::minutes(4)),
        )
        .await;
    assert!(sent(&v).is_empty(), "{v}");
    let (status, v) = rig
        .handler
        .invoke(
            "CustodyActor",
            &tick(event_time() + time::Duration::minutes(5)),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let n = &sent(&v)[0];
    assert_eq!(n["notificationId"], format!("{alert}.actor"), "{v}");
    assert!(
        n["title"]
            .as_str()
            .is_some_and(|t| t.ends_with("actor unknown")),
        "{v}"
    );
    let (_, doc) = rig.handler.get_json(&format!("/api/recordings/{id}")).await;
    assert_eq!(doc["actor"]["status"], "unknown", "{doc}");
    assert!(
        doc["actor"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("DeleteBlob") && r.contains("5 minutes")),
        "{doc}"
    );
}

/// Catalogues `name`, overwrites it and hands the handler its `BlobCreated` (`api` as Event Grid
/// names it), logs `writes` (each operation with its request id; the fixture event's request id
/// is the last's) and runs `CustodyActor`: the one follow-up it sends.
async fn replaced_then_logged(name: &str, api: &str, writes: &[&str]) -> Value {
    let Some(cs) = azurite() else {
        return Value::Null;
    };
    let fake = FakeLogs::default();
    let rig = rig(&cs, &fake).await;
    rig.upload(name, &[]).await;
    let (_, first) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(name, super::SEQ1))
        .await;
    assert_eq!(
        first["Outputs"]["notifications"]["type"], "recording.catalogued",
        "{first}"
    );
    let blob = BlobRef::new(rig.container(), name);
    rig.blobs()
        .put(
            &blob,
            bytes::Bytes::from_static(b"forged bytes, other length"),
            "application/octet-stream",
            &bastion_recordings::storage::Metadata::new(),
        )
        .await
        .expect("overwrite");
    let seq = "0000000000000000000000000001A2B30000000000e00000";
    let mut ev = rig.invocation(name, seq);
    ev["Data"]["eventGridEvent"]["data"]["api"] = json!(api);
    let (status, v) = rig.handler.invoke("RecordingCreated", &ev).await;
    assert_eq!(status, 200, "{v}");
    let alert = &v["Outputs"]["notifications"];
    assert_eq!(alert["type"], "recording.replaced", "{v}");
    let alert = alert["notificationId"].as_str().expect("id").to_owned();
    // The fixture's event: its time and storage request id (the last write's).
    let key = format!("/devstoreaccount1/{}/{name}", rig.container());
    for (i, op) in writes.iter().enumerate() {
        let request = if i + 1 == writes.len() {
            "9c1e4b2a-701e-0012-3c4d-a1b2c3000000".to_owned()
        } else {
            format!("5e0f3a1b-701e-0012-3c4d-a1b2c300000{i}")
        };
        let at = format!("2025-03-14T09:42:1{}Z", 6 - (writes.len() - 1 - i));
        let upn = "writer@contoso.example";
        log(&fake, &key, op, &at, &request, upn, "AzureStorageExplorer");
    }
    let at = bastion_recordings::dates::timestamp("2025-03-14T09:44:00Z").expect("time");
    let (status, v) = rig.handler.invoke("CustodyActor", &tick(at)).await;
    assert_eq!(status, 200, "{v}");
    let out = sent(&v);
    assert_eq!(out.len(), 1, "{v}");
    assert_eq!(out[0]["notificationId"], format!("{alert}.actor"));
    assert_eq!(out[0]["data"]["change"], "replaced");
    assert_eq!(out[0]["data"]["actorStatus"], "found", "{v}");
    assert_eq!(out[0]["data"]["requesterUpn"], "writer@contoso.example");
    out[0].clone()
}

#[tokio::test]
async fn a_replacements_writer_follows_its_alert() {
    let n = replaced_then_logged("overwritten.rec", "PutBlob", &["PutBlob"]).await;
    if !n.is_null() {
        assert_eq!(n["data"]["operation"], "PutBlob");
    }
}

/// Through the Data Lake endpoint (a hierarchical namespace account): Event Grid says
/// `FlushWithClose`, the storage log says `CreatePathFile`, `AppendFile`, `FlushFile` (the logged
/// names, azure-docs `articles/storage/blobs/map-rest-apis-transaction-categories.md`); the
/// `FlushFile` row carries the event's request id and names the writer.
#[tokio::test]
async fn a_data_lake_replacements_writer_is_found_from_its_flush_file_row() {
    let writes = ["CreatePathFile", "AppendFile", "FlushFile"];
    let n = replaced_then_logged("overwritten-dfs.rec", "FlushWithClose", &writes).await;
    if !n.is_null() {
        assert_eq!(n["data"]["operation"], "FlushFile");
    }
}
