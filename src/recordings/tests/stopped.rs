//! A changes pass stopped by a row that fails (a storage read answering 503) still alerts the
//! deletions of the rows before it: those rows are recorded and will not be read again, so their
//! `recording.deleted` goes out with this pass; the failed row is read again and alerted on the
//! next pass, and nothing is alerted twice. A name logged percent-encoded is one deletion, not a
//! second one of a name never catalogued. The rows are Data Lake deletes that only
//! `StorageBlobLogs` show (no `BlobDeleted`).

use serde_json::json;
use time::Duration;

use super::writer::WS;
use crate::functions::recordings::recording_created as handle;
use crate::storage::{BlobRef, BlobStore};
use crate::testkit::loganalytics::{FakeLogs, blobs};
use crate::testkit::retention::{Hook, kit};
use crate::testkit::{blob_created, event_invocation};

/// A `DeleteFile` row of `name` as the `ObjectKey` spells it (columns of the table reference,
/// learn.microsoft.com azure/azure-monitor/reference/tables/storagebloblogs), ingested at `at`.
fn delete_file(logs: &FakeLogs, name: &str, at: time::OffsetDateTime) {
    let values = json!({
        "TimeGenerated": crate::dates::format_utc(at - Duration::seconds(30)),
        "AccountName": "acct", "OperationName": "DeleteFile", "StatusCode": "200",
        "StatusText": "Success", "Uri": format!("https://acct.dfs.core.windows.net/recordings/{name}"),
        "ObjectKey": format!("/acct/recordings/{name}"), "CallerIpAddress": "203.0.113.7:50112",
        "AuthenticationType": "OAuth", "RequesterObjectId": "0b7c1a3e-0000-4000-8000-00000000000a",
        "RequesterUpn": "mallory@contoso.example", "RequesterAppId": "",
        "CorrelationId": format!("delete-{name}"), "UserAgentHeader": "azsdk-python-storage-dfs/12.0",
        "Protocol": "HTTPS", "Category": "StorageDelete", "ServiceType": "blob",
        "Location": "westeurope",
    });
    logs.ingest(
        WS,
        blobs::row(values.as_object().cloned().unwrap_or_default(), at),
    );
}

fn deleted(v: &[crate::spine::Finding]) -> Vec<String> {
    v.iter()
        .filter(|n| n.kind.name == "recording.deleted")
        .filter_map(|n| n.evidence["blobName"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_pass_stopped_by_a_failed_row_still_alerts_the_deletions_before_it() {
    let k = kit();
    let logs = FakeLogs::default();
    logs.workspace(WS);
    let now = k.state.ports.clock.now();
    for (i, name) in ["a.rec", "b.rec"].into_iter().enumerate() {
        let blob = BlobRef::new("recordings", name);
        crate::testkit::blobs::put(&*k.blobs, &blob, &b"data"[..], &[]).await;
        let seq = format!("{:048}", i + 1);
        let event = blob_created("recordings", name, &seq);
        handle(k.state.clone(), event_invocation("RecordingCreated", event))
            .await
            .expect("catalogued");
        k.blobs
            .delete_guarded(&blob, None, None)
            .await
            .expect("delete");
        delete_file(
            &logs,
            name,
            now - Duration::minutes(5) + Duration::seconds(i as i64),
        );
    }
    let recordings = crate::state::recordings(&k.state);
    k.blobs.arm(Hook::FailProperties("b.rec".into()));
    let first = recordings
        .logged_changes(&logs, WS, now)
        .await
        .expect("the rows before the failure are kept");
    assert_eq!(deleted(&first.findings), ["a.rec"], "{:?}", first.findings);
    assert!(
        first.error.as_deref().is_some_and(|e| e.contains("503")),
        "{:?}",
        first.error
    );
    k.blobs.disarm_all();
    let second = recordings
        .logged_changes(&logs, WS, now + Duration::minutes(1))
        .await
        .expect("pass");
    assert_eq!(
        deleted(&second.findings),
        ["b.rec"],
        "{:?}",
        second.findings
    );
    let third = recordings
        .logged_changes(&logs, WS, now + Duration::minutes(2))
        .await
        .expect("pass");
    assert!(deleted(&third.findings).is_empty(), "{:?}", third.findings);
}

#[tokio::test]
async fn a_name_logged_percent_encoded_is_one_deletion() {
    let k = kit();
    let logs = FakeLogs::default();
    logs.workspace(WS);
    let now = k.state.ports.clock.now();
    let name = "dir/x y.rec";
    let blob = BlobRef::new("recordings", name);
    crate::testkit::blobs::put(&*k.blobs, &blob, &b"data"[..], &[]).await;
    let event = blob_created("recordings", name, &format!("{:048}", 1));
    handle(k.state.clone(), event_invocation("RecordingCreated", event))
        .await
        .expect("catalogued");
    k.blobs
        .delete_guarded(&blob, None, None)
        .await
        .expect("delete");
    delete_file(&logs, "dir/x%20y.rec", now - Duration::minutes(5));
    let recordings = crate::state::recordings(&k.state);
    let pass = recordings
        .logged_changes(&logs, WS, now)
        .await
        .expect("pass");
    assert_eq!(deleted(&pass.findings), [name], "{:?}", pass.findings);
    let source = k.state.ports.sources.recordings()[0].clone();
    let other = recordings
        .row_named(&source, "dir/x%20y.rec", now)
        .await
        .expect("read");
    assert!(other.is_none(), "no row for a spelling: {other:?}");
}
