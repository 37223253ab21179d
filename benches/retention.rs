//! RetentionSweep cost vs container size: one run over 10,000 tagged blobs of which 100 are
//! expired, against one run over 100 blobs that are all expired. Goal: ratio ≤ 1.5 (the range query
//! makes cost follow the expired count). Medians of several runs, both scenarios interleaved in one
//! process; in-memory store always, Azurite too when `TEST_AZURITE=1` + `AZURITE_CONNECTION_STRING`.
//! Run: `scripts/bench-retention.sh` (or `cargo bench --bench retention`).

#![allow(missing_docs)]

use bastion_testkit::DefaultSources;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::catalogue::recording::{Recording, RecordingKey};
use bastion_recordings::clock::SystemClock;
use bastion_recordings::dates::format_date;
use bastion_recordings::retention::sweep::{SweepParams, run};
use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
use bastion_recordings::state::AppState;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata, Tags};
use bastion_testkit::storage::counting::CountingBlobStore;
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::memory::InMemoryTables;
use bytes::Bytes;
use futures::future::join_all;
use time::{Duration, OffsetDateTime};

const TOTAL: usize = 10_000;
const EXPIRED: usize = 100;

struct World {
    state: AppState,
    /// Blob-store calls so far (the sweep's cost in calls, independent of the store's speed).
    calls: Box<dyn Fn() -> u64 + Send + Sync>,
    tables: Arc<InMemoryTables>,
    rec: String,
    t0: OffsetDateTime,
}

impl World {
    fn new<S: BlobStore + 'static>(store: S, rec: &str) -> Self {
        let store = Arc::new(CountingBlobStore::new(store));
        let counted = store.clone();
        let tables = Arc::new(InMemoryTables::new());
        let source = format!("AzureWebJobsStorage:{rec}");
        let pairs = [
            ("RECORDINGS_SOURCES", source.as_str()),
            ("AUDITLOGS_SOURCES", "AzureWebJobsStorage:bench-logs-none"),
        ];
        let config = bastion_testkit::state::config(&pairs).expect("config");
        let stores = bastion_testkit::state::stores(store, tables.clone());
        let state = AppState::assemble(config, Policy::builtin(), stores, Arc::new(SystemClock));
        Self {
            state,
            calls: Box::new(move || counted.total()),
            tables,
            rec: rec.to_owned(),
            t0: OffsetDateTime::now_utc(),
        }
    }

    fn day(&self, d: i64) -> String {
        format_date((self.t0 + Duration::days(d)).date())
    }

    /// A tagged recording; catalogued when `catalogue` (only blobs the sweep will meet need a row).
    async fn blob(&self, name: String, until_days: i64, catalogue: bool) {
        let blob = BlobRef::new(self.rec.clone(), name.clone());
        let store = &self.state.ports.sources.default_recordings().store;
        store
            .put(
                &blob,
                Bytes::from_static(b"r"),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("put");
        let tags = Tags::from([
            (TAG_CLASS.to_owned(), "ops-30d".to_owned()),
            (TAG_UNTIL.to_owned(), self.day(until_days)),
        ]);
        store.set_tags(&blob, &tags, None).await.expect("tags");
        if !catalogue {
            return;
        }
        let props = store.properties(&blob).await.expect("props");
        let created = props.created.expect("created");
        let entry = Recording {
            key: RecordingKey::for_source_blob(created, store.account(), &self.rec, &name),
            blob_url: format!("https://x/{blob}"),
            account: "x".into(),
            source_bastion: String::new(),
            container: self.rec.clone(),
            blob_name: name,
            content_length: 1,
            content_type: "application/octet-stream".into(),
            blob_type: "BlockBlob".into(),
            etag: props.etag,
            sequencer: "1".into(),
            event_id: "e".into(),
            blob_created: created,
            created: Some(created),
            first_seen: created,
            retention_class: "ops-30d".into(),
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
            .update(&entry.key.clone(), None, |_| Some(entry.clone()))
            .await
            .expect("row");
    }

    async fn add(&self, names: Vec<String>, until_days: i64, catalogue: bool) {
        for chunk in names.chunks(64) {
            join_all(
                chunk
                    .iter()
                    .map(|n| self.blob(n.clone(), until_days, catalogue)),
            )
            .await;
        }
    }

    /// Median latency of one `Get Blob Properties` on a blob of this container: the store's own
    /// per-call cost, to tell the sweep's scaling from the store's.
    async fn probe(&self, name: &str) -> StdDuration {
        let blob = BlobRef::new(self.rec.clone(), name);
        let mut v = Vec::new();
        for _ in 0..31 {
            let start = Instant::now();
            self.state
                .ports
                .sources
                .default_recordings()
                .store
                .properties(&blob)
                .await
                .expect("probe");
            v.push(start.elapsed());
        }
        median(v)
    }

    /// One sweep: its duration and the blob-store calls it made.
    async fn timed_sweep(&self) -> (StdDuration, u64) {
        let p = SweepParams {
            now: self.t0 + Duration::days(400),
            invocation_id: "bench".into(),
            dry_run: false,
            max_deletes: 5000,
        };
        let calls = (self.calls)();
        let start = Instant::now();
        let (r, e) = run(&bastion_recordings::state::sweeper(&self.state), &p).await;
        let took = start.elapsed();
        assert!(e.is_none(), "{e:?}");
        assert_eq!(r.deleted, EXPIRED, "{r:?}");
        (took, (self.calls)() - calls)
    }
}

fn median(mut v: Vec<StdDuration>) -> StdDuration {
    v.sort();
    v[v.len() / 2]
}

async fn bench<S: BlobStore + 'static>(label: &str, store: impl Fn() -> S, reps: usize) {
    let tag = std::process::id();
    let big = World::new(store(), &format!("benchbig{tag}{label}"));
    let small = World::new(store(), &format!("benchsmall{tag}{label}"));
    let setup = Instant::now();
    big.add(
        (0..TOTAL - EXPIRED)
            .map(|i| format!("keep-{i:05}"))
            .collect(),
        2000,
        false,
    )
    .await;
    eprintln!(
        "[{label}] {} unexpired blobs tagged in {:?}",
        TOTAL - EXPIRED,
        setup.elapsed()
    );
    let (mut tb, mut ts) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        let names = |p: &str| {
            (0..EXPIRED)
                .map(|i| format!("{p}-{rep}-{i:03}"))
                .collect::<Vec<_>>()
        };
        big.add(names("exp"), 30, true).await;
        small.add(names("exp"), 30, true).await;
        // Alternate the order so drift (caches, Azurite's GC) hits both scenarios alike.
        if rep % 2 == 0 {
            tb.push(big.timed_sweep().await);
            ts.push(small.timed_sweep().await);
        } else {
            ts.push(small.timed_sweep().await);
            tb.push(big.timed_sweep().await);
        }
    }
    let calls = |v: &[(StdDuration, u64)]| v.iter().map(|(_, c)| *c).collect::<Vec<_>>();
    println!(
        "[{label}] blob-store calls per sweep: {:?} (10k container) vs {:?} (100 container)",
        calls(&tb),
        calls(&ts)
    );
    big.add(vec!["probe".into()], 2000, false).await;
    small.add(vec!["probe".into()], 2000, false).await;
    let (pb, ps) = (big.probe("probe").await, small.probe("probe").await);
    println!(
        "[{label}] one Get Blob Properties: median {pb:?} (10k container) vs {ps:?} (100 container), ratio {:.2}",
        pb.as_secs_f64() / ps.as_secs_f64()
    );
    let times = |v: Vec<(StdDuration, u64)>| v.into_iter().map(|(t, _)| t).collect::<Vec<_>>();
    let (tb, ts) = (times(tb), times(ts));
    let (mb, ms) = (median(tb.clone()), median(ts.clone()));
    println!("[{label}] sweep of {TOTAL} blobs / {EXPIRED} expired: median {mb:?} (runs {tb:?})");
    println!(
        "[{label}] sweep of {EXPIRED} blobs / {EXPIRED} expired:    median {ms:?} (runs {ts:?})"
    );
    println!(
        "[{label}] ratio {:.2} (goal <= 1.5)",
        mb.as_secs_f64() / ms.as_secs_f64()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        bench("memory", || InMemoryBlobStore::new("devstoreaccount1"), 7).await;
        let azurite = std::env::var("TEST_AZURITE").ok().as_deref() == Some("1");
        if let (true, Ok(cs)) = (azurite, std::env::var("AZURITE_CONNECTION_STRING")) {
            let conn = StorageConnection::resolve("B", &|k| (k == "B").then(|| cs.clone()))
                .expect("parses")
                .expect("set");
            bench("azurite", || AzureBlobStore::new(&conn).expect("client"), 5).await;
        } else {
            println!("[azurite] skipped (set TEST_AZURITE=1 and AZURITE_CONNECTION_STRING)");
        }
    });
}
