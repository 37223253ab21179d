//! Shared fixtures of the component tests (in-memory seams, a pinned clock, helpers that append to
//! audit blobs and catalogue recordings).

use super::Domains;
use crate::testkit::DefaultSources;
use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::testkit::clock::FixedClock;
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;
use bastion_recordings::audit_logs::repo::{Cursor, CursorRepo};
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::catalogue::recording::RecordingKey;
use bastion_recordings::state::AppState;
use bastion_recordings::storage::{BlobRef, BlobStore};

/// The app's tables, counted per (operation, table).
pub type Tally = crate::testkit::tables::intercept::CountingTables<
    std::sync::Arc<dyn bastion_recordings::tables::TableStore>,
>;

pub const PATH: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";
pub const NOW: OffsetDateTime = datetime!(2025-03-14 10:00 UTC);
pub const ALICE: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";

pub struct Kit {
    pub state: AppState,
    pub blobs: Arc<InMemoryBlobStore>,
    /// The state's clock, to move.
    pub clock: Arc<FixedClock>,
}

pub fn kit(policy: Option<&str>) -> Kit {
    let blobs = Arc::new(InMemoryBlobStore::new("devstoreaccount1"));
    let clock = Arc::new(FixedClock::new(NOW));
    // The storage service's clock is the kit's: blobs are created at its "now".
    blobs.use_clock(clock.clone());
    let policy = policy.map_or_else(Policy::builtin, |p| Policy::parse(p).expect("policy"));
    let tables = Arc::new(InMemoryTables::new());
    let state = super::state(blobs.clone(), tables, clock.clone(), policy, &[]);
    Kit {
        state,
        blobs,
        clock,
    }
}

impl Kit {
    /// The join over this kit's seams.
    pub fn join(&self) -> bastion_recordings::join::Join {
        self.state.join()
    }

    /// One join pass as a tick runs it at the kit's clock, with no time limit.
    pub async fn join_pass(&self) -> bastion_recordings::join::Report {
        let now = self.state.ports.clock.now();
        let scope = bastion_recordings::join::Scope {
            since: bastion_recordings::join::horizon(now, self.state.audit.tail_look_back),
            span: None,
        };
        let unlimited =
            bastion_recordings::clock::Budget::unlimited(self.state.ports.clock.clone());
        self.join()
            .run(&scope, now, &unlimited)
            .await
            .expect("join pass")
    }

    /// Registers the cursor of [`PATH`] at [`NOW`] without reading (as Reconcile does).
    pub async fn register(&self) {
        let tail = self.state.tailer();
        let source = self.state.ports.sources.default_audit_logs();
        bastion_recordings::audit_logs::created::register(&tail, source, PATH, NOW, NOW, false)
            .await
            .expect("register")
            .expect("a PT1H.json path");
    }

    /// The catalogue row of `key`, as stored.
    pub async fn row(&self, key: &RecordingKey) -> bastion_recordings::tables::Entity {
        crate::testkit::tables::catalogue(self.state.ports.tables.clone())
            .get(key)
            .await
            .expect("get")
            .expect("row")
            .value
            .to_entity()
    }

    pub fn blob(&self) -> BlobRef {
        self.state.ports.sources.default_audit_logs().blob(PATH)
    }

    pub async fn create_log(&self) {
        self.blobs
            .create_append(&self.blob(), "application/json")
            .await
            .expect("create");
    }

    pub async fn append(&self, text: &[u8]) {
        self.blobs
            .append(&self.blob(), Bytes::copy_from_slice(text))
            .await
            .expect("append");
    }

    pub async fn cursor(&self) -> Cursor {
        let sources = &self.state.ports.sources;
        let at = sources.cursor_source(sources.default_audit_logs());
        CursorRepo::new(self.state.ports.tables.clone())
            .get(at, PATH, datetime!(2025-03-14 09:00 UTC))
            .await
            .expect("get")
            .expect("cursor")
    }

    /// Records on `key`'s row what the changes pass records once the storage logs show its current
    /// content written through the host's SAS (the writer a match by time alone needs), due for
    /// the join now.
    pub async fn host_wrote(&self, key: &RecordingKey) {
        let repo = crate::testkit::tables::catalogue(self.state.ports.tables.clone());
        let now = self.state.ports.clock.now();
        let read = repo.get(key).await.expect("get");
        repo.update(key, read, |cur| {
            let mut next = cur?.clone();
            next.writer = Some(bastion_recordings::catalogue::writer::Writer {
                etag: bastion_recordings::storage::normalize_etag(&next.etag).to_owned(),
                operation: "PutBlob".into(),
                authentication: "SAS".into(),
                verdict: bastion_recordings::catalogue::writer::VOUCHES.into(),
                ..Default::default()
            });
            next.due_again(now);
            Some(next)
        })
        .await
        .expect("writer");
    }

    /// Catalogues a recording blob as if created at `created` (the fake's own creation time is "now").
    pub async fn recording(
        &self,
        name: &str,
        created: OffsetDateTime,
        meta: &[(&str, &str)],
    ) -> RecordingKey {
        let source = self.state.ports.sources.default_recordings();
        let blob = source.blob(name);
        super::blobs::put(self.blobs.as_ref(), &blob, &b"rec"[..], meta).await;
        let mut props = self.blobs.properties(&blob).await.expect("props");
        props.created = Some(created);
        let item = bastion_recordings::storage::BlobItem {
            name: name.to_owned(),
            props: props.clone(),
        };
        let event = bastion_recordings::recordings::reconcile::synthesize(source, &item, created);
        self.state
            .recordings()
            .catalogue(source, &event, &props, None)
            .await
            .expect("catalogue");
        RecordingKey::for_source_blob(created, source.account(), &blob.container, name)
    }
}

/// A JSON line for a Bastion record.
pub fn line(tunnel: &str, time: &str, message: &str, vm: &str, user: &str, extra: &str) -> String {
    format!(
        r#"{{"time":"{time}","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"userName":"{user}","clientIpAddress":"203.0.113.9","protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{vm}","message":"{message}","tunnelId":"{tunnel}"{extra}}}}}"#
    ) + "\n"
}

/// A catalogue row of the default source for blob `name` created at `t`: no GUIDs, no metadata,
/// no join (for the join's pure decisions).
pub fn recording_row(
    name: &str,
    t: OffsetDateTime,
) -> bastion_recordings::catalogue::recording::Recording {
    bastion_recordings::catalogue::recording::Recording {
        key: RecordingKey::for_source_blob(t, "acct", "recordings", name),
        blob_url: String::new(),
        account: "acct".into(),
        source_bastion: String::new(),
        container: "recordings".into(),
        blob_name: name.into(),
        content_length: 1,
        content_type: String::new(),
        blob_type: String::new(),
        etag: String::new(),
        sequencer: String::new(),
        event_id: String::new(),
        blob_created: t,
        created: None,
        first_seen: t,
        retention_class: String::new(),
        retain_until: String::new(),
        candidate_keys: vec![],
        metadata: "{}".into(),
        status: String::new(),
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
    }
}
