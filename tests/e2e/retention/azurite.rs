//! `RetentionSweep` through the real `handler` process on Azurite (blobs and tables), timer
//! invocations carrying a chosen `sys.UtcNow`: deletion with tombstone and catalogue status, the
//! digest output, a hold honoured, and a dry run that deletes nothing.

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::catalogue::RECORDINGS_TABLE;
use bastion_recordings::catalogue::recording::{Recording, RecordingKey};
use bastion_recordings::dates::format_date;
use bastion_recordings::dates::format_utc;
use bastion_recordings::retention::tags::hold_tags;
use bastion_recordings::retention::tombstone::DELETIONS_TABLE;
use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata, Tags};
use bastion_recordings::tables::ops::write_creating_table;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{TableStore, WriteMode};
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::harness::{self, AzuriteEnv, HandlerProcess, fixture};

pub(crate) struct Env {
    pub(crate) env: AzuriteEnv,
    pub(crate) blobs: AzureBlobStore,
    tables: TableRestClient,
    t0: OffsetDateTime,
}

impl Env {
    fn day(&self, d: i64) -> String {
        format_date((self.t0 + Duration::days(d)).date())
    }

    /// A tagged, catalogued recording (`held` adds a legal hold to its tags and row).
    pub(crate) async fn recording(
        &self,
        name: &str,
        until_days: i64,
        held: bool,
    ) -> (BlobRef, RecordingKey) {
        let rec = self.env.recordings().to_owned();
        let blob = BlobRef::new(rec.clone(), name);
        self.blobs
            .put(
                &blob,
                Bytes::from_static(b"rec"),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("put");
        let mut tags = Tags::from([
            (TAG_CLASS.to_owned(), "ops-30d".to_owned()),
            (TAG_UNTIL.to_owned(), self.day(until_days)),
        ]);
        if held {
            tags = hold_tags(&tags);
        }
        self.blobs.set_tags(&blob, &tags, None).await.expect("tags");
        let props = self.blobs.properties(&blob).await.expect("props");
        let created = props.created.expect("created");
        let key = RecordingKey::for_source_blob(created, self.blobs.account(), &rec, name);
        let entry = Recording {
            key: key.clone(),
            blob_url: format!("http://azurite/{blob}"),
            account: self.blobs.account().into(),
            source_bastion: String::new(),
            container: rec,
            blob_name: name.into(),
            content_length: 3,
            content_type: "application/octet-stream".into(),
            blob_type: "BlockBlob".into(),
            etag: props.etag,
            sequencer: "1".into(),
            event_id: "e".into(),
            blob_created: created,
            created: None,
            first_seen: created,
            retention_class: tags[TAG_CLASS].clone(),
            retain_until: tags[TAG_UNTIL].clone(),
            candidate_keys: vec![],
            metadata: "{}".into(),
            status: "catalogued".into(),
            joined: None,
            rejoin_at: None,
            hold: Default::default(),
            shortened: None,
            deletion: None,
            hash: None,
            replaced: None,
            retagged: None,
            actor: None,
            below_min_bytes: None,
            suspect_alerted: None,
            growing: false,
            outside_deletions: Vec::new(),
            writer: None,
        };
        let mut e = entry.to_entity();
        e.insert("LegalHold".into(), Value::Bool(held));
        write_creating_table(&self.tables, RECORDINGS_TABLE, &e, WriteMode::Insert)
            .await
            .expect("row");
        (blob, key)
    }

    pub(crate) fn timer(&self, days: i64) -> Value {
        let mut inv = fixture("invocations/timer.invocation.json");
        inv["Metadata"]["sys"]["UtcNow"] = json!(format_utc(self.t0 + Duration::days(days)));
        inv
    }
}

pub(crate) fn setup() -> Option<Env> {
    let cs = harness::azurite()?;
    let env = AzuriteEnv::new(&cs);
    let conn = StorageConnection::resolve("T", &|k| (k == "T").then(|| cs.clone()))
        .expect("parses")
        .expect("set");
    let blobs = AzureBlobStore::new(&conn).expect("blob client");
    let tables = TableRestClient::new(&conn, env.get("TABLE_PREFIX")).expect("table client");
    Some(Env {
        env,
        blobs,
        tables,
        t0: OffsetDateTime::now_utc(),
    })
}

#[tokio::test]
async fn timer_sweep_on_azurite_deletes_with_evidence_and_honours_holds() {
    let Some(e) = setup() else { return };
    let (old, old_key) = e.recording("old.rec", 30, false).await;
    let (held, _) = e.recording("held.rec", 30, true).await;
    let (future, _) = e.recording("future.rec", 2557, false).await;
    let mut vars = e.env.pairs();
    vars.push(("RETENTION_DRY_RUN", "true"));
    let dry = HandlerProcess::spawn(&vars).await;
    let (status, body) = dry.invoke("RetentionSweep", &e.timer(400)).await;
    assert_eq!(status, 200, "{body}\n{}", dry.log_text());
    assert_eq!(
        body["Outputs"]["notifications"]["data"]["dryRun"], true,
        "{body}"
    );
    assert!(
        e.blobs.properties(&old).await.is_ok(),
        "dry run deletes nothing"
    );
    drop(dry);

    let h = HandlerProcess::spawn(&e.env.pairs()).await;
    let (status, body) = h.invoke("RetentionSweep", &e.timer(400)).await;
    assert_eq!(status, 200, "{body}\n{}", h.log_text());
    let digest = &body["Outputs"]["notifications"];
    assert_eq!(
        (
            digest["type"].clone(),
            digest["data"]["counts"]["deleted"].clone()
        ),
        (json!("retention.deleted"), json!(1)),
        "{body}"
    );
    assert!(e.blobs.properties(&old).await.is_err());
    assert!(e.blobs.properties(&held).await.is_ok() && e.blobs.properties(&future).await.is_ok());
    let tomb = e
        .tables
        .get(DELETIONS_TABLE, &old_key.pk, &old_key.rk)
        .await
        .expect("get")
        .expect("tombstone");
    assert_eq!(
        (
            tomb.entity["Reason"].clone(),
            tomb.entity["Outcome"].clone()
        ),
        (json!("retention-expired"), json!("deleted"))
    );
    let row = e
        .tables
        .get(RECORDINGS_TABLE, &old_key.pk, &old_key.rk)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.entity["Status"], "deleted");
    let (status, again) = h.invoke("RetentionSweep", &e.timer(400)).await;
    assert_eq!(status, 200);
    assert!(
        again["Outputs"].get("notifications").is_none(),
        "a re-run has nothing to report: {again}"
    );
}
