//! Component test of the writer check over the in-memory fakes and the Log Analytics fake
//! answering documented `StorageBlobLogs` rows: the changes pass turns each logged write into its
//! row's writer and verdict, against the recording identity the estate check stored.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::deliver;
use crate::catalogue::doubt::Doubt;
use crate::catalogue::identity;
use crate::catalogue::recording::Recording;
use crate::catalogue::writer::{VOUCHES, VOUCHES_IDENTITY_UNKNOWN, Writer};
use crate::storage::{BlobRef, BlobStore};
use crate::testkit::loganalytics::FakeLogs;
use crate::testkit::loganalytics::blobs;
use crate::testkit::{Fakes, fakes};

pub(super) const WS: &str = "a1b2c3d4-0000-4000-8000-0000000000a5";
pub(super) const HOST: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b1";
pub(super) const HOST_OID: &str = "3f1c0a52-7d4e-4b8a-9c61-2e5f8d7a0b13";
pub(super) const OTHER_OID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/// A successful write of `name` logged with `auth` by `oid`, returning `etag`, ingested at `at`.
pub(super) fn logged(
    logs: &FakeLogs,
    name: &str,
    (op, auth, oid): (&str, &str, &str),
    etag: &str,
    at: OffsetDateTime,
) {
    let t = crate::dates::format_utc(at - Duration::minutes(3));
    let values = json!({
        "TimeGenerated": t, "AccountName": "acct", "OperationName": op,
        "StatusCode": "201", "StatusText": "Success",
        "Uri": format!("https://acct.blob.core.windows.net/recordings/{name}"),
        "ObjectKey": format!("/acct/recordings/{name}"),
        "CallerIpAddress": "198.51.100.23:50112", "AuthenticationType": auth,
        "AuthenticationHash": if auth == "SAS" { "key1(5RTE34),SasSignature(04D64C)" } else { "" },
        "RequesterObjectId": oid, "RequesterUpn": "", "RequesterAppId": "",
        "Etag": etag, "CorrelationId": format!("{op}-{name}"),
        "UserAgentHeader": "azsdk", "Protocol": "HTTPS", "Category": "StorageWrite",
        "ServiceType": "blob", "Location": "westeurope",
    });
    let values = values.as_object().cloned().unwrap_or_default();
    logs.ingest(WS, blobs::row(values, at));
}

pub(super) async fn put(f: &Fakes, name: &str) -> String {
    let blob = BlobRef::new("recordings", name);
    crate::testkit::blobs::put(&*f.blobs, &blob, &b"data"[..], &[]).await;
    f.blobs.properties(&blob).await.expect("props").etag
}

/// The row of `name` (the newest, by the path index).
pub(super) async fn row(f: &Fakes, name: &str) -> Option<Recording> {
    let r = crate::state::recordings(&f.state);
    let source = f.state.ports.sources.recordings()[0].clone();
    let at = OffsetDateTime::now_utc();
    r.row_named(&source, name, at)
        .await
        .expect("row")
        .map(|r| r.value)
}

/// The verdict on `name`'s row and the doubt the join takes from it.
pub(super) async fn verdict(f: &Fakes, name: &str) -> (String, Option<Doubt>) {
    let r = row(f, name).await.expect("a row");
    let w = r
        .writer
        .clone()
        .unwrap_or_else(|| panic!("no writer on {name}"));
    (w.verdict, r.other_writer().and_then(Writer::doubt))
}

#[tokio::test]
async fn each_logged_write_becomes_its_rows_verdict_against_the_recording_identity() {
    let f = fakes();
    let now = f.state.ports.clock.now();
    let logs = FakeLogs::default();
    logs.workspace(WS);
    let recordings = crate::state::recordings(&f.state);
    let names = [
        "keyed.rec",
        "signed.rec",
        "unknown.rec",
        "host.rec",
        "other.rec",
        "early.rec",
    ];
    let mut etags = Vec::new();
    for (i, name) in names.iter().enumerate() {
        etags.push(put(&f, name).await);
        if *name != "early.rec" {
            deliver(&f, name, &format!("{:048}", i + 1)).await;
        }
    }
    // Before any host is read: who records there is unknown.
    let t1 = now - Duration::minutes(20);
    logged(
        &logs,
        names[0],
        ("PutBlob", "AccountKey", ""),
        &etags[0],
        t1,
    );
    logged(&logs, names[1], ("PutBlockList", "SAS", ""), &etags[1], t1);
    logged(
        &logs,
        names[2],
        ("PutBlob", "OAuth", OTHER_OID),
        &etags[2],
        t1,
    );
    // Logged before its BlobCreated was handled: no row yet.
    logged(&logs, names[5], ("AppendBlock", "AccountKey", ""), "", t1);
    recordings
        .logged_changes(&logs, WS, now - Duration::minutes(10))
        .await
        .expect("pass");
    assert_eq!(
        verdict(&f, names[0]).await,
        (
            Doubt::OtherWriter.as_str().to_owned(),
            Some(Doubt::OtherWriter)
        )
    );
    assert_eq!(verdict(&f, names[1]).await, (VOUCHES.to_owned(), None));
    assert_eq!(
        verdict(&f, names[2]).await,
        (VOUCHES_IDENTITY_UNKNOWN.to_owned(), None),
        "identity unknown: an Entra write vouches as before"
    );
    assert!(row(&f, names[5]).await.is_none());

    // The estate check read the host: it records as HOST_OID.
    let tables = f.state.ports.tables.as_ref();
    // Two checks, before and after the writes below: b1's identity covers their time.
    for at in [now - Duration::hours(1), now] {
        identity::record(tables, ("acct", "recordings"), HOST, Some(HOST_OID), at)
            .await
            .expect("identity");
    }
    deliver(&f, names[5], &format!("{:048}", 9)).await;
    let t2 = now - Duration::minutes(5);
    logged(
        &logs,
        names[3],
        ("PutBlob", "OAuth", &HOST_OID.to_uppercase()),
        &etags[3],
        t2,
    );
    logged(
        &logs,
        names[4],
        ("PutBlockList", "OAuth", OTHER_OID),
        &etags[4],
        t2,
    );
    recordings
        .logged_changes(&logs, WS, now)
        .await
        .expect("pass");
    assert_eq!(verdict(&f, names[3]).await, (VOUCHES.to_owned(), None));
    let other = row(&f, names[4]).await.expect("row");
    assert_eq!(
        other.writer.as_ref().and_then(Writer::doubt),
        Some(Doubt::NotRecordingIdentity)
    );
    assert_eq!(
        other.writer.as_ref().map(|w| w.expected.as_str()),
        Some(HOST_OID)
    );
    assert!(other.rejoin_at.is_some(), "the join decides it again");
    // The write logged before the row existed, judged once the row is there.
    let early = verdict(&f, names[5]).await;
    assert_eq!(early.1, Some(Doubt::OtherWriter), "{early:?}");
    assert_eq!(
        row(&f, names[5])
            .await
            .and_then(|r| r.writer)
            .map(|w| w.operation),
        Some("AppendBlock".to_owned())
    );
    // Judged once: the kept write is gone.
    assert_eq!(recordings.early_writes(now).await.expect("kept"), 0);
}
