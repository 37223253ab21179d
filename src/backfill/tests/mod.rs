//! Backfill over the in-memory fakes: catalogue + tail + join, idempotent re-run, resume after
//! `--limit`, failed items recorded and retried, dry run, index rows.

use crate::testkit::DefaultSources;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use time::macros::datetime;

use super::*;
use crate::catalogue::key::INDEX_TABLE;
use crate::catalogue::recording::RecordingKey;
use crate::storage::{BlobRef, BlobStore as _, Metadata};
use crate::tables::{Entity, TableStore, WriteMode};
use crate::testkit::audit::{ALICE, PATH};
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;

mod calls;
mod failures;
mod hashes;
mod index;

/// The kit's fakes, with the backfill's helpers.
type Rig = crate::testkit::Fakes;

/// Pages of two blobs, so resuming crosses page boundaries; "now" is days after the audit hour,
/// so tailed hours retire.
fn rig() -> Rig {
    crate::testkit::fakes_over(
        InMemoryBlobStore::new("devstoreaccount1").with_page_size(2),
        datetime!(2025-03-20 10:00 UTC),
    )
}

/// When the storage service created the rig's recordings: the day after the audit hour, within
/// its sessions' vouching lag (`RECORDING_VOUCH_LAG_HOURS`) and outside every window by time;
/// backfilled days later, at the rig's "now".
const UPLOADED: time::OffsetDateTime = datetime!(2025-03-15 09:00 UTC);

impl Rig {
    async fn recording(&self, name: &str) -> RecordingKey {
        self.blobs
            .use_clock(Arc::new(crate::testkit::clock::FixedClock::new(UPLOADED)));
        let blob = BlobRef::new(
            self.state
                .ports
                .sources
                .default_recordings()
                .container
                .clone(),
            name,
        );
        self.blobs
            .put(
                &blob,
                Bytes::from_static(b"rec"),
                "video/mp4",
                &Metadata::new(),
            )
            .await
            .expect("put");
        let created = self
            .blobs
            .properties(&blob)
            .await
            .expect("props")
            .created
            .expect("created");
        RecordingKey::for_source_blob(created, self.blobs.account(), &blob.container, name)
    }

    async fn audit_log(&self) {
        let blob = BlobRef::new(
            self.state
                .ports
                .sources
                .default_audit_logs()
                .container
                .clone(),
            PATH,
        );
        self.blobs
            .create_append(&blob, "application/json")
            .await
            .expect("create");
        let text = std::fs::read(format!(
            "{}/tests/fixtures/auditlogs/PT1H.sample.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        self.blobs
            .append(&blob, Bytes::from(text))
            .await
            .expect("append");
    }

    async fn run(&self, opts: &Options) -> (Summary, Vec<(String, Value)>) {
        let mut out = Vec::new();
        let s = run(
            &self.state,
            opts,
            &mut Progress::hidden(),
            &mut |q: &str, v| out.push((q.to_owned(), v)),
        )
        .await
        .expect("backfill");
        (s, out)
    }

    async fn row(&self, key: &RecordingKey) -> Option<Entity> {
        crate::testkit::tables::catalogue(self.state.ports.tables.clone())
            .get(key)
            .await
            .expect("get")
            .map(|r| r.value.to_entity())
    }
}

fn opts() -> Options {
    Options {
        from: datetime!(2025-01-01 0:00 UTC),
        to: datetime!(2100-01-01 0:00 UTC),
        concurrency: 3,
        kinds: vec![Kind::AuditLogs, Kind::Recordings],
        dry_run: false,
        restart: false,
        limit: None,
        hash: false,
    }
}

fn types(out: &[(String, Value)], queue: &str) -> usize {
    out.iter().filter(|(q, _)| q == queue).count()
}

#[tokio::test]
async fn catalogues_tails_joins_then_changes_nothing_on_a_rerun() {
    let r = rig();
    r.audit_log().await;
    let joined = r.recording(&format!("PLACEHOLDER-{ALICE}")).await;
    let plain = r.recording("other/unmatched.mp4").await;
    let (s, out) = r.run(&opts()).await;
    assert_eq!(
        (s.catalogued, s.audit_logs_tailed, s.errors),
        (2, 1, 0),
        "{s:?}"
    );
    assert!(s.complete);
    assert_eq!(types(&out, "notifications"), 2, "{out:?}");
    assert_eq!(types(&out, crate::integrity::OUTPUT_BINDING), 2);
    let row = r.row(&joined).await.expect("row");
    assert_eq!(row["MatchConfidence"], "exact");
    assert!(r.row(&plain).await.is_some());
    let index = r.tables.dump(INDEX_TABLE);
    assert!(
        index.iter().any(|s| s.entity["RecordingId"] == joined.id()) && index.len() >= 2,
        "{index:?}"
    );

    let before = r.tables.dump(crate::catalogue::RECORDINGS_TABLE);
    // The checkpoints say done: a second run does not even list.
    let (again, out) = r.run(&opts()).await;
    assert_eq!(
        again,
        Summary {
            complete: true,
            // The join pass over the range decides both again and finds nothing to change.
            joined: Some(JoinTotals {
                evaluated: 2,
                rewritten: 0,
                sessions: 1,
            }),
            ..Summary::default()
        }
    );
    assert!(out.is_empty());
    // --restart lists everything again and finds it all present: no writes, no notifications.
    let (again, out) = r
        .run(&Options {
            restart: true,
            ..opts()
        })
        .await;
    assert_eq!(
        (
            again.catalogued,
            again.already_present,
            again.audit_logs_tailed,
            again.audit_logs_present
        ),
        (0, 2, 0, 1),
        "{again:?}"
    );
    assert!(out.is_empty(), "no duplicate notifications: {out:?}");
    assert_eq!(
        r.tables.dump(crate::catalogue::RECORDINGS_TABLE),
        before,
        "rows untouched"
    );
}

#[tokio::test]
async fn a_limited_run_resumes_where_it_stopped() {
    let r = rig();
    let mut keys = Vec::new();
    for i in 0..5 {
        keys.push(r.recording(&format!("vm/{i}.mp4")).await);
    }
    let limited = Options {
        limit: Some(3),
        kinds: vec![Kind::Recordings],
        ..opts()
    };
    let (s, _) = r.run(&limited).await;
    assert_eq!((s.catalogued, s.complete), (3, false));
    let (s, out) = r
        .run(&Options {
            limit: None,
            ..limited
        })
        .await;
    assert_eq!(
        (s.catalogued, s.already_present, s.complete),
        (2, 0, true),
        "{s:?}"
    );
    assert_eq!(types(&out, "notifications"), 2);
    for k in &keys {
        assert!(r.row(k).await.is_some(), "{k:?}");
    }
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let r = rig();
    r.audit_log().await;
    let key = r.recording("x/1.mp4").await;
    let (s, out) = r
        .run(&Options {
            dry_run: true,
            ..opts()
        })
        .await;
    assert_eq!(
        (s.would_process, s.catalogued, s.errors),
        (2, 0, 0),
        "{s:?}"
    );
    assert!(out.is_empty());
    assert!(r.row(&key).await.is_none());
    assert!(r.tables.dump(checkpoint::BACKFILL_TABLE).is_empty());
    let (s, _) = r.run(&opts()).await;
    assert_eq!(s.catalogued, 1, "the dry run left no checkpoint behind");
}

#[tokio::test]
async fn the_range_bounds_what_is_touched() {
    let r = rig();
    r.audit_log().await;
    r.recording("y/1.mp4").await;
    let early = Options {
        from: datetime!(2020-01-01 0:00 UTC),
        to: datetime!(2020-02-01 0:00 UTC),
        ..opts()
    };
    let (s, _) = r.run(&early).await;
    assert_eq!(
        s,
        Summary {
            complete: true,
            joined: Some(JoinTotals::default()),
            ..Summary::default()
        }
    );
}
