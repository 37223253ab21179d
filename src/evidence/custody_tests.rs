//! The access file with the custody workspace: the recording containers' requests from
//! `StorageBlobLogs` over the period follow the product's own reads, their values as text; a
//! workspace that cannot be queried is a row saying so, never a missing pack.

use std::sync::Arc;

use serde_json::json;

use super::options::PackCustody;
use super::pack::write_pack;
use super::tables_tests::{options, temp_dir};
use crate::pack::key::PackKey;
use crate::testkit::fakes;
use crate::testkit::loganalytics::blobs;
use crate::testkit::loganalytics::{FakeLogs, Fault};

const WS: &str = "a1b2c3d4-0000-4000-8000-0000000000ee";

fn log(fake: &FakeLogs, key: &str, at: &str, agent: &str) {
    let values = json!({
        "TimeGenerated": at, "OperationName": "GetBlob", "StatusCode": "206",
        "AuthenticationType": "SAS", "RequesterUpn": "", "RequesterObjectId": "",
        "RequesterAppId": "", "CallerIpAddress": "198.51.100.4:443", "UserAgentHeader": agent,
        "CorrelationId": "c1", "ObjectKey": key,
    });
    let values = values.as_object().cloned().unwrap_or_default();
    fake.ingest(WS, blobs::row(values, time::OffsetDateTime::UNIX_EPOCH));
}

#[tokio::test]
async fn the_access_file_lists_the_storage_logs_requests_of_the_period() {
    let f = fakes();
    let ports = &f.state.ports;
    let source = &ports.sources.recordings()[0];
    let prefix = format!("/{}/{}", source.account(), source.container);
    let fake = FakeLogs::default();
    fake.workspace(WS);
    log(
        &fake,
        &format!("{prefix}/vm/a.mp4"),
        "2025-03-10T08:00:00Z",
        "=HYPERLINK(\"x\") <b>",
    );
    log(
        &fake,
        &format!("{prefix}/vm/b.mp4"),
        "2025-02-10T08:00:00Z",
        "before the period",
    );
    log(
        &fake,
        "/other/container/c.mp4",
        "2025-03-10T08:00:00Z",
        "another container",
    );
    let mut opts = options(None);
    opts.custody = Some(PackCustody {
        workspace: WS.into(),
        logs: Arc::new(fake.clone()),
    });
    let key = PackKey::from_seed([5u8; 32]);
    let dir = temp_dir();
    let m = write_pack(&dir, ports, &key, &opts, super::pdf::Print::NotHere)
        .await
        .expect("pack");
    let csv = std::fs::read_to_string(dir.join("accessaudit.csv")).expect("csv");
    assert!(csv.contains("storage:GetBlob"), "{csv}");
    assert!(csv.contains(&format!("{prefix}/vm/a.mp4")), "{csv}");
    assert!(
        csv.contains("198.51.100.4:443") && csv.contains("<b>"),
        "{csv}"
    );
    assert!(!csv.contains("\n=HYPERLINK"), "a formula is defused: {csv}");
    assert!(
        !csv.contains("before the period") && !csv.contains("another container"),
        "{csv}"
    );
    let rows = m
        .files
        .iter()
        .find(|e| e.name == "accessaudit.csv")
        .and_then(|e| e.rows);
    assert_eq!(rows, Some(1), "{csv}");
    let _ = std::fs::remove_dir_all(&dir);

    // Throttled: the pack is made, its access file says the workspace was not read.
    fake.faults([Fault::ThrottleBare]);
    let dir = temp_dir();
    write_pack(&dir, ports, &key, &opts, super::pdf::Print::NotHere)
        .await
        .expect("pack");
    let csv = std::fs::read_to_string(dir.join("accessaudit.csv")).expect("csv");
    assert!(
        csv.contains("storage-logs") && csv.contains("error: the workspace could not be queried"),
        "{csv}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
