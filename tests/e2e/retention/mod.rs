//! Retention end to end: the real `handler` binary (timer route, CLI subcommands) and the sweep
//! library over a real blob store — the in-memory fake always, Azurite when `TEST_AZURITE=1`.
//! (Catalogue rows live in the in-memory table store here: the table client is another branch.)

use bastion_testkit::DefaultSources;
use std::sync::Arc;

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::catalogue::recording::{Recording, RecordingKey};
use bastion_recordings::clock::SystemClock;
use bastion_recordings::dates::format_date;
use bastion_recordings::retention::hold::{Actor, Target, hold, release};
use bastion_recordings::retention::sweep::announce::UNANNOUNCED_PK;
use bastion_recordings::retention::sweep::{SweepParams, run};
use bastion_recordings::retention::tombstone::DELETIONS_TABLE;
use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
use bastion_recordings::state::AppState;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata, Tags};
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::memory::InMemoryTables;
use bytes::Bytes;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::harness::{self, HandlerProcess, fixture};

pub(crate) mod azurite;
mod races;

#[tokio::test]
async fn lifecycle_policy_subcommand_prints_the_infra_file() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("lifecycle-policy")
        .env_clear()
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::fs::read_to_string(format!(
        "{}/infra/lifecycle-policy.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("infra file");
    assert_eq!(String::from_utf8_lossy(&out.stdout), file);
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args(["sweep"])
        .env_clear()
        .output()
        .await
        .expect("run");
    assert_eq!(
        bad.status.code(),
        Some(2),
        "sweep without --dry-run/--execute is a usage error"
    );
}

#[tokio::test]
async fn sweep_dry_run_subcommand_prints_a_report() {
    let out = tokio::process::Command::new(crate::harness::in_memory_handler())
        .args(["sweep", "--dry-run"])
        .env_clear()
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["report"]["dryRun"], true);
    assert!(v["summary"].as_str().is_some_and(|s| s.contains("dry run")));
}

#[tokio::test]
async fn timer_invocation_is_processed_by_the_real_handler() {
    let h = HandlerProcess::spawn_in_memory(&[]).await;
    let (status, body) = h
        .invoke(
            "RetentionSweep",
            &fixture("invocations/timer.invocation.json"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let logs = body["Logs"].as_array().expect("logs");
    assert!(
        logs.iter().any(|l| l
            .as_str()
            .is_some_and(|s| s.contains("retention sweep 2025-03-16"))),
        "sys.UtcNow is the sweep's today: {body}"
    );
    assert!(
        body["Outputs"].get("notifications").is_none(),
        "no digest when nothing was deleted"
    );
}

/// Blob stores under test: the fake, and Azurite when enabled.
fn stores() -> Vec<(&'static str, Arc<dyn BlobStore>)> {
    let mut v: Vec<(&'static str, Arc<dyn BlobStore>)> = vec![(
        "memory",
        Arc::new(InMemoryBlobStore::new("devstoreaccount1")),
    )];
    if let Some(cs) = harness::azurite() {
        let conn = StorageConnection::resolve("T", &|k| (k == "T").then(|| cs.clone()))
            .expect("parses")
            .expect("set");
        v.push((
            "azurite",
            Arc::new(AzureBlobStore::new(&conn).expect("client")),
        ));
    }
    v
}

struct World {
    state: AppState,
    tables: Arc<InMemoryTables>,
    rec: String,
    t0: OffsetDateTime,
}

impl World {
    fn new(store: Arc<dyn BlobStore>) -> Self {
        let (rec, logs) = (harness::unique("rec"), harness::unique("logs"));
        let tables = Arc::new(InMemoryTables::new());
        let sources = [rec.as_str(), logs.as_str()].map(|c| format!("AzureWebJobsStorage:{c}"));
        let pairs = [
            ("RECORDINGS_SOURCES", sources[0].as_str()),
            ("AUDITLOGS_SOURCES", sources[1].as_str()),
        ];
        let config = bastion_testkit::state::config(&pairs).expect("config");
        let stores = bastion_testkit::state::stores(store, tables.clone());
        let state = AppState::assemble(config, Policy::builtin(), stores, Arc::new(SystemClock));
        Self {
            state,
            tables,
            rec,
            t0: OffsetDateTime::now_utc(),
        }
    }

    fn day(&self, d: i64) -> String {
        format_date((self.t0 + Duration::days(d)).date())
    }

    async fn recording(&self, name: &str, class: &str, until_days: i64) -> (BlobRef, RecordingKey) {
        let blob = BlobRef::new(self.rec.clone(), name);
        let store = &self.state.ports.sources.default_recordings().store;
        store
            .put(
                &blob,
                Bytes::from_static(b"rec"),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("put");
        let tags = Tags::from([
            (TAG_CLASS.to_owned(), class.to_owned()),
            (TAG_UNTIL.to_owned(), self.day(until_days)),
        ]);
        store.set_tags(&blob, &tags, None).await.expect("tags");
        let props = store.properties(&blob).await.expect("props");
        let created = props.created.expect("created");
        let key = RecordingKey::for_source_blob(created, store.account(), &self.rec, name);
        let entry = Recording {
            key: key.clone(),
            blob_url: format!("https://x/{blob}"),
            account: self
                .state
                .ports
                .sources
                .default_recordings()
                .account()
                .into(),
            source_bastion: String::new(),
            container: self.rec.clone(),
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
            retention_class: class.into(),
            retain_until: self.day(until_days),
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
        bastion_testkit::tables::catalogue(self.tables.clone())
            .update(&key, None, |_| Some(entry.clone()))
            .await
            .expect("row");
        (blob, key)
    }

    async fn sweep(
        &self,
        days: i64,
        dry_run: bool,
        max: usize,
    ) -> bastion_recordings::retention::sweep::Report {
        let p = SweepParams {
            now: self.t0 + Duration::days(days),
            invocation_id: "e2e".into(),
            dry_run,
            max_deletes: max,
        };
        let (r, e) = run(&sweeper(&self.state), &p).await;
        assert!(e.is_none(), "{e:?}");
        r
    }

    async fn exists(&self, b: &BlobRef) -> bool {
        self.state
            .ports
            .sources
            .default_recordings()
            .store
            .properties(b)
            .await
            .is_ok()
    }
}

#[tokio::test]
async fn sweep_scenario_on_every_blob_store() {
    for (label, store) in stores() {
        let w = World::new(store);
        let (old, old_key) = w.recording("old.rec", "ops-30d", 30).await;
        let (future, _) = w.recording("future.rec", "sox-7y", 2557).await;
        let (held, held_key) = w.recording("held.rec", "ops-30d", 30).await;
        let (released, rel_key) = w.recording("released.rec", "ops-30d", 30).await;
        let (bounded, _) = w.recording("zz-bounded.rec", "ops-30d", 30).await;
        let actor = Actor {
            who: "e2e".into(),
            why: "test".into(),
            at: w.t0,
        };
        hold(&w.state.ports, "h1", &Target::Key(held_key), &actor)
            .await
            .expect("hold");
        hold(&w.state.ports, "h2", &Target::Key(rel_key.clone()), &actor)
            .await
            .expect("hold");
        release(&w.state.ports, "h2", &Target::Key(rel_key), &actor)
            .await
            .expect("release");

        let dry = w.sweep(400, true, 100).await;
        assert_eq!((dry.would_delete, dry.deleted), (3, 0), "{label}: {dry:?}");
        assert!(w.exists(&old).await, "{label}: dry run deletes nothing");

        let first = w.sweep(400, false, 2).await;
        assert_eq!(
            (first.deleted, first.bound_reached),
            (2, true),
            "{label}: {first:?}"
        );
        let second = w.sweep(400, false, 2).await;
        assert_eq!(second.deleted, 1, "{label}: the next run continues");
        for (b, alive) in [
            (&old, false),
            (&released, false),
            (&bounded, false),
            (&future, true),
            (&held, true),
        ] {
            assert_eq!(w.exists(b).await, alive, "{label}: {b}");
        }
        let tombs: Vec<_> = w
            .tables
            .dump(DELETIONS_TABLE)
            .into_iter()
            .filter(|s| {
                !["pending", UNANNOUNCED_PK]
                    .contains(&s.entity["PartitionKey"].as_str().unwrap_or(""))
            })
            .collect();
        assert_eq!(tombs.len(), 3, "{label}");
        let row = bastion_testkit::tables::catalogue(w.tables.clone())
            .get(&old_key)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(row.value.to_entity()["Status"], json!("deleted"), "{label}");
        assert_eq!(
            w.sweep(400, false, 100).await.candidates,
            0,
            "{label}: nothing left in range"
        );
    }
}

/// The sweeper the `RetentionSweep` function builds from `state`.
fn sweeper(state: &AppState) -> bastion_recordings::retention::sweep::Sweeper {
    bastion_recordings::state::sweeper(state)
}
