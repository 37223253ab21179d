//! Test support for retention: in-memory state with a store whose calls can be intercepted
//! (to force the 412, 404 and transient paths), and helpers that create tagged, catalogued blobs.

use std::sync::Arc;

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::testkit::clock::FixedClock;
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::catalogue::recording::{Recording, RecordingKey, STATUS_CATALOGUED};
use bastion_recordings::retention::sweep::SweepParams;
use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
use bastion_recordings::state::AppState;
use bastion_recordings::storage::{BlobRef, BlobStore, Tags};
use bastion_recordings::tables::{Entity, WriteMode};

pub use super::hooked::{Hook, Hooked};

/// State plus typed handles.
pub struct Kit {
    pub state: AppState,
    pub blobs: Arc<Hooked>,
    pub tables: Arc<InMemoryTables>,
    /// When the kit was built: blobs are created "now" by the fake.
    pub t0: OffsetDateTime,
}

/// A kit with `policy` and extra settings (`KEY=value` pairs).
pub fn kit_with(policy: Policy, env: &[(&str, &str)]) -> Kit {
    let blobs = Arc::new(Hooked::with(
        InMemoryBlobStore::new("acct"),
        Default::default(),
    ));
    let tables = Arc::new(InMemoryTables::new());
    let t0 = OffsetDateTime::now_utc();
    let clock = Arc::new(FixedClock::new(t0));
    let state = super::state(blobs.clone(), tables.clone(), clock, policy, env);
    Kit {
        state,
        blobs,
        tables,
        t0,
    }
}

/// A kit with the built-in policy.
pub fn kit() -> Kit {
    kit_with(Policy::builtin(), &[])
}

impl Kit {
    /// `YYYY-MM-DD` of `t0 + days`.
    pub fn day(&self, days: i64) -> String {
        bastion_recordings::dates::format_date((self.t0 + Duration::days(days)).date())
    }

    /// Sweep parameters `days` after `t0`.
    pub fn params(&self, days: i64, dry_run: bool, max: usize) -> SweepParams {
        SweepParams {
            now: self.t0 + Duration::days(days),
            invocation_id: "inv-sweep".into(),
            dry_run,
            max_deletes: max,
        }
    }

    /// A blob in `container` tagged `class` / `until` (no catalogue row).
    pub async fn tagged(&self, container: &str, name: &str, class: &str, until: &str) -> BlobRef {
        let blob = BlobRef::new(container, name);
        super::blobs::put(self.blobs.as_ref(), &blob, &b"data"[..], &[]).await;
        let tags = Tags::from([
            (TAG_CLASS.to_owned(), class.to_owned()),
            (TAG_UNTIL.to_owned(), until.to_owned()),
        ]);
        self.blobs.set_tags(&blob, &tags, None).await.expect("tags");
        blob
    }

    /// A catalogued `ops-30d` recording kept until day 30 (due for a sweep after it), its row
    /// carrying `extra` properties too.
    pub async fn ops_recording(
        &self,
        name: &str,
        extra: &[(&str, Value)],
    ) -> (BlobRef, RecordingKey) {
        self.recording(name, "ops-30d", &self.day(30), extra).await
    }

    /// A catalogued recording tagged `class` / `until`, its row carrying `extra` properties too.
    pub async fn recording(
        &self,
        name: &str,
        class: &str,
        until: &str,
        extra: &[(&str, Value)],
    ) -> (BlobRef, RecordingKey) {
        let blob = self.tagged("recordings", name, class, until).await;
        let props = self.blobs.properties(&blob).await.expect("props");
        let created = props.created.expect("created");
        let key = RecordingKey::for_source_blob(created, "acct", "recordings", name);
        let entry = Recording {
            key: key.clone(),
            blob_url: format!("https://acct.blob.core.windows.net/recordings/{name}"),
            account: "acct".into(),
            source_bastion: String::new(),
            container: "recordings".into(),
            blob_name: name.into(),
            content_length: 4,
            content_type: "application/octet-stream".into(),
            blob_type: "BlockBlob".into(),
            etag: props.etag,
            sequencer: "01".into(),
            event_id: "e".into(),
            blob_created: created,
            created: Some(created),
            first_seen: created,
            retention_class: class.into(),
            retain_until: until.into(),
            candidate_keys: vec![],
            metadata: "{}".into(),
            status: STATUS_CATALOGUED.into(),
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
        e.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        bastion_recordings::tables::ops::write_creating_table(
            self.tables.as_ref(),
            bastion_recordings::catalogue::RECORDINGS_TABLE,
            &e,
            WriteMode::Insert,
        )
        .await
        .expect("row");
        (blob, key)
    }

    /// The stored catalogue row.
    pub async fn row(&self, key: &RecordingKey) -> Entity {
        crate::testkit::tables::catalogue(self.tables.clone())
            .get(key)
            .await
            .expect("get")
            .expect("row")
            .value
            .to_entity()
    }

    /// Current tags.
    pub async fn tags(&self, blob: &BlobRef) -> Tags {
        self.blobs.get_tags(blob).await.expect("tags")
    }

    /// True when the blob exists.
    pub async fn exists(&self, blob: &BlobRef) -> bool {
        self.blobs.inner().properties(blob).await.is_ok()
    }
}
