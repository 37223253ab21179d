//! Custody gaps closed, end to end on Azurite: a recording deleted before its `BlobCreated` was
//! handled (either delivery order) leaves a `deleted-before-catalogued` row, one
//! `recording.deleted` and an actor lookup; a deletion followed by a re-upload under the same
//! name stays in the row's trail and the evidence pack's `custody.csv`; names with TAB, CR or LF
//! are read, catalogued and their deletion alerted; a name no URL can carry is quarantined.

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_testkit::loganalytics::{FakeLogs, serve};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{Rig, SEQ1};
use crate::harness::{azurite, first_log};

const WS: &str = "c0ffee00-0000-4000-8000-000000000056";
/// The deletion fixture's storage request id and time.
const REQUEST: &str = "4c2359fe-001e-00ba-0e04-585868000000";
const DELETED_AT: &str = "2025-06-01T00:00:12Z";
/// Newer than the deletion fixture's sequencer: a write after the deletion.
const SEQ_AFTER: &str = "0000000000000000000000000001A2B30000000000f10000";
/// base64 of the seed [7; 32].
const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

async fn custody_rig(cs: &str) -> Rig {
    let fake = FakeLogs::default();
    fake.workspace(WS);
    let endpoint = serve(fake).await.expect("fake");
    Rig::with(
        cs,
        &[
            ("CUSTODY_WORKSPACE_ID", WS.to_owned()),
            ("LOGANALYTICS_ENDPOINT", endpoint),
            ("EVIDENCE_SIGNING_KEY", KEY.to_owned()),
            ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".to_owned()),
        ],
    )
    .await
}

fn notification(v: &Value) -> &Value {
    &v["Outputs"]["notifications"]
}

impl Rig {
    /// Every row of `recordings` for blob `name`.
    async fn rows_named(&self, name: &str) -> Vec<Map<String, Value>> {
        let rows = self.rows().await;
        rows.into_iter().filter(|r| r["BlobName"] == name).collect()
    }

    async fn lookups(&self) -> Vec<String> {
        let page = self.tables().query("actorlookups", None, None, None).await;
        page.map(|p| p.items)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.entity["RowKey"].as_str().map(str::to_owned))
            .collect()
    }

    async fn put_bytes(&self, name: &str, body: &'static [u8]) {
        let blob = BlobRef::new(self.container(), name);
        self.blobs()
            .put(
                &blob,
                Bytes::from_static(body),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("upload");
    }

    async fn delete_blob(&self, name: &str) {
        let blob = BlobRef::new(self.container(), name);
        self.blobs()
            .delete_guarded(&blob, None, None)
            .await
            .expect("delete");
    }
}

/// Asserts the reply alerts `recording.deleted` for a blob deleted before it was catalogued; its id.
fn deleted_before(v: &Value) -> String {
    let n = notification(v);
    assert_eq!(
        (n["type"].as_str(), n["severity"].as_str()),
        (Some("recording.deleted"), Some("critical")),
        "{v}"
    );
    assert_eq!(
        n["title"], "Recording deleted before it was catalogued",
        "{v}"
    );
    assert_eq!(n["data"]["status"], "deleted-before-catalogued", "{v}");
    n["notificationId"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_recording_deleted_before_its_blob_created_leaves_a_row_an_alert_and_a_lookup() {
    let Some(cs) = azurite() else { return };
    let rig = custody_rig(&cs).await;

    // BlobDeleted handled first, then the older BlobCreated finds the blob gone.
    let name = "early/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.rec";
    rig.upload(name, &[]).await;
    rig.delete_blob(name).await;
    let (s, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.deleted(name, "eventgrid"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        first_log(&v).contains("deleted before it was catalogued"),
        "{v}"
    );
    let id = deleted_before(&v);
    assert_eq!(notification(&v)["data"]["requestId"], REQUEST);
    let (_, again) = rig
        .handler
        .invoke("RecordingCreated", &rig.deleted(name, "eventgrid"))
        .await;
    assert_eq!(deleted_before(&again), id, "a redelivery: the same id");
    let (_, created) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(name, SEQ1))
        .await;
    assert!(first_log(&created).starts_with("skipped"), "{created}");
    assert!(notification(&created).is_null(), "{created}");
    let rows = rig.rows_named(name).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["Status"], "deleted-before-catalogued");
    assert_eq!(row["DeletionRequestId"], REQUEST);
    assert_eq!(row["DeletedAt"], DELETED_AT);
    assert_eq!(
        rig.lookups().await,
        std::slice::from_ref(&id),
        "the actor is looked up"
    );

    // BlobCreated handled first, its blob already gone; then the BlobDeleted.
    let name = "late/plain.rec";
    rig.upload(name, &[]).await;
    rig.delete_blob(name).await;
    let (s, created) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(name, SEQ1))
        .await;
    assert_eq!(s, 200, "{created}");
    let first = deleted_before(&created);
    let rows = rig.rows_named(name).await;
    assert_eq!(rows.len(), 1, "the fact is kept: {rows:?}");
    assert_eq!(rows[0]["Status"], "deleted-before-catalogued");
    assert_eq!(rows[0]["ETag"], "0x8DD62A1B3C4D5E6", "the event's facts");
    let (_, deleted) = rig
        .handler
        .invoke("RecordingCreated", &rig.deleted(name, "eventgrid"))
        .await;
    assert_eq!(deleted_before(&deleted), first, "one deletion, one id");
    let rows = rig.rows_named(name).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0]["DeletionRequestId"], REQUEST,
        "completed by the event"
    );
    assert_eq!(rows[0]["DeletedAt"], DELETED_AT);
    let mut lookups = rig.lookups().await;
    lookups.sort();
    let mut want = vec![id, first];
    want.sort();
    assert_eq!(lookups, want);
}

#[tokio::test]
async fn a_deletion_stays_in_the_trail_and_the_pack_after_a_re_upload() {
    let Some(cs) = azurite() else { return };
    let rig = custody_rig(&cs).await;
    let name = "reuploaded.rec";
    let key = rig.catalogued(name).await;
    rig.delete_blob(name).await;
    let (_, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.deleted(name, "eventgrid"))
        .await;
    assert_eq!(notification(&v)["type"], "recording.deleted", "{v}");
    // The same name written again, later.
    rig.put_bytes(name, b"other recording bytes").await;
    let mut again = rig.invocation(name, SEQ_AFTER);
    again["Data"]["eventGridEvent"]["eventTime"] = json!("2025-06-02T08:00:00Z");
    let (s, v) = rig.handler.invoke("RecordingCreated", &again).await;
    assert_eq!(s, 200, "{v}");
    let row = rig
        .tables()
        .get("recordings", &key.pk, &key.rk)
        .await
        .expect("get")
        .expect("row")
        .entity;
    assert_eq!(row["Status"], "catalogued", "the blob is back");
    assert_eq!(row["OutsideDeletedAt"], DELETED_AT, "{row:?}");
    let trail: Value =
        serde_json::from_str(row["OutsideDeletions"].as_str().expect("trail")).expect("json");
    assert_eq!(trail[0]["requestId"], REQUEST, "{trail}");

    let res = reqwest::get(
        rig.handler
            .url("/api/evidence?from=2025-06-01&to=2025-06-30&code=k"),
    )
    .await
    .expect("pack");
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.expect("body");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
    let mut csv = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("custody.csv").expect("custody.csv"),
        &mut csv,
    )
    .expect("read");
    let events: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or_default())
        .collect();
    assert_eq!(events, ["deleted-outside-retention", "replaced"], "{csv}");
    assert!(csv.contains(REQUEST), "the deletion's own request: {csv}");
}

#[tokio::test]
async fn names_with_tab_cr_or_lf_are_catalogued_and_their_deletion_alerted() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    for name in ["tab\there.rec", "line\nfeed/and\r\nreturn.rec"] {
        rig.upload(name, &[]).await;
        let listed = rig
            .blobs()
            .list(&rig.container(), None, None)
            .await
            .expect("list");
        assert!(
            listed.items.iter().any(|i| i.name == name),
            "the blob holds the name as given: {:?}",
            listed.items.iter().map(|i| &i.name).collect::<Vec<_>>()
        );
        let (s, v) = rig
            .handler
            .invoke("RecordingCreated", &rig.invocation(name, SEQ1))
            .await;
        assert_eq!(s, 200, "{v}");
        assert!(first_log(&v).starts_with("catalogued"), "{v}");
        let rows = rig.rows_named(name).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["ContentLength"], "15", "its properties were read");
        assert_eq!(rows[0]["Status"], "catalogued");
        rig.delete_blob(name).await;
        let (_, v) = rig
            .handler
            .invoke("RecordingCreated", &rig.deleted(name, "eventgrid"))
            .await;
        assert_eq!(notification(&v)["type"], "recording.deleted", "{v}");
        assert_eq!(notification(&v)["data"]["blobName"], name);
        assert_eq!(
            rig.rows_named(name).await[0]["Status"],
            "deleted-outside-retention"
        );
    }
    // A name no request URL can carry: quarantined with the reason, counted by the health report.
    let (s, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation("..", SEQ1))
        .await;
    assert_eq!(s, 200, "poison is acknowledged: {v}");
    let quarantined = rig.quarantined().await;
    assert_eq!(quarantined.len(), 1, "{v}");
    let body = rig
        .blobs()
        .read_range(&quarantined[0], 0, 1 << 20)
        .await
        .expect("read");
    let doc: Value = serde_json::from_slice(&body).expect("json");
    assert!(
        doc["reason"]
            .as_str()
            .is_some_and(|r| r.contains("cannot be carried by a request URL")),
        "{doc}"
    );
    let (_, health) = rig.handler.get_json("/api/health").await;
    assert_eq!(health["quarantined"], 1, "{health}");
}
