//! Sentinel export benchmark (run by `scripts/bench-sentinel.sh`, not a timed test): the outbox on
//! Azurite (the bench's own instance, `.azurite-bench-sentinel`, restarted empty for each
//! contestant) and the project's loopback fake of the Logs Ingestion API in a child process of this
//! binary (its decompression and schema checks do not share this process's CPU).
//! - `sentinel rate [rows] [repeats]`: `rows` detection rows recorded in the outbox (not timed) as
//!   a backlog recorded an hour ago (one closed bucket: an outage's backlog), then drained by the
//!   exporter (`sentinel::drain::run`, runs of 45 s until nothing waits) beside a bare client doing
//!   the same work and leaving the same state: it reads the whole bucket partition a page at a
//!   time, packs it with the same packer, posts each call with a plain reqwest client and, once
//!   every call was accepted, deletes the bucket (one Delete Table), with no lease, state rows,
//!   cursor, buffer bound, fallback or retry policy. Table calls per row of both (counted);
//!   seconds reading, uploading and retiring. Rows/s of both and their ratio (median of the runs,
//!   contestants alternating); calls, gzip MB and JSON MB per 10,000 rows and calls per MB of
//!   gzip. Each run checks that the fake accepted exactly the recorded ids, once, and that no
//!   bucket is left.
//! - `sentinel rate [rows] [repeats] open`: the same rows in the bucket being written (the
//!   exporter's clock held there), so both sides remove each sent row as the drain does in an open
//!   bucket (tasks of 500 rows, four at once, each the outbox's transactions of 100 conditional
//!   deletes in turn, one refused for a changed row halved) after each call: the path of a burst
//!   drained within the half hour it is written.
//! - `sentinel serve` (internal): the fake with a `GET /stats` of what it accepted; its URL on stdout.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the other Azurite benches, which use the rest"
)]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bastion_recordings::azure::AzureError;
use bastion_recordings::azure::http::{Auth, Client};
use bastion_recordings::azure::{Policy, Timeouts};
use bastion_recordings::clock::{Clock, SystemClock};
use bastion_recordings::export::outbox::{self, OUTBOX_TABLE};
use bastion_recordings::export::rows::DetectionRow;
use bastion_recordings::export::{Outbox, Table};
use bastion_recordings::ingestion::pack::pack;
use bastion_recordings::ingestion::schema::Declaration;
use bastion_recordings::ingestion::{IngestionClient, LogsIngestion, MAX_CALL_BYTES};
use bastion_recordings::ports::Ports;
use bastion_recordings::sentinel::drain;
use bastion_recordings::sources::{Source, Sources};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Entity, TableStore, WriteMode};
use bastion_testkit::clock::FixedClock;
use bastion_testkit::ingestion::{FakeIngestion, router};
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::intercept::CountingTables;
use futures::StreamExt as _;
use serde_json::json;
use time::OffsetDateTime;

const DCR: &str = "dcr-00000000000000000000000000000bec";
const STREAM: &str = "Custom-BastionDetections";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let num = |i: usize, d: usize| args.get(i).map_or(d, |n| n.parse().expect("a number"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match args.first().map(String::as_str) {
        Some("serve") => rt.block_on(serve()),
        Some("rate") => {
            let open = match args.get(3).map(String::as_str) {
                None | Some("closed") => false,
                Some("open") => true,
                Some(other) => panic!("closed or open, not {other}"),
            };
            rt.block_on(rate(num(1, 20_000), num(2, 3), open));
        }
        _ => eprintln!("usage: sentinel rate [rows] [repeats] [closed|open]"),
    }
}

fn declaration() -> Declaration {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/sentinel/tables.json");
    Declaration::parse(&std::fs::read_to_string(path).expect("tables.json")).expect("parses")
}

/// The fake and `GET /stats` (accepted ids: how many in all, how many distinct; calls accepted).
async fn serve() {
    let fake = FakeIngestion::new(declaration(), DCR);
    let stats = fake.clone();
    let app = router(fake).route(
        "/stats",
        axum::routing::get(move || {
            let f = stats.clone();
            async move {
                let ids = f.ids(STREAM);
                let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
                let first = ids.first().cloned().unwrap_or_default();
                axum::Json(
                    json!({"accepted": ids.len(), "distinct": distinct.len(), "first": first,
                    "calls": f.received().iter().filter(|r| r.status == 204).count()}),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("http://{}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

/// The fake in a child process (a fresh one per contestant); killed on drop.
struct Served(Child, String);

impl Served {
    fn start() -> Self {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the fake");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("its URL");
        Self(child, line.trim().to_owned())
    }

    async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/stats", self.1))
            .await
            .expect("stats")
            .json()
            .await
            .expect("json")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Counts the calls and bytes of the exporter's client, and times them.
struct Counted {
    inner: IngestionClient,
    calls: AtomicUsize,
    gzip: AtomicUsize,
    /// Microseconds spent in uploads.
    uploading: AtomicUsize,
    /// When the first upload began (microseconds after `started`).
    first: AtomicUsize,
    started: Instant,
}

#[async_trait]
impl LogsIngestion for Counted {
    async fn upload(&self, stream: &str, gzip: &[u8], until: Instant) -> Result<(), AzureError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.gzip.fetch_add(gzip.len(), Ordering::Relaxed);
        let t = Instant::now();
        let since = t.duration_since(self.started).as_micros() as usize;
        let _ =
            self.first
                .compare_exchange(usize::MAX, since, Ordering::Relaxed, Ordering::Relaxed);
        let r = self.inner.upload(stream, gzip, until).await;
        self.uploading
            .fetch_add(t.elapsed().as_micros() as usize, Ordering::Relaxed);
        r
    }
}

/// Row `i`: a detection as the producers raise them (a login burst's fields).
fn row(i: usize, t0: OffsetDateTime) -> DetectionRow {
    let ip = format!("203.0.{}.{}", (i / 250) % 250, i % 250);
    DetectionRow {
        time_generated: t0 + time::Duration::milliseconds(i as i64),
        notification_id: uuid::Uuid::new_v4().to_string(),
        detection_type: "login.failed.burst".into(),
        severity: "warning".into(),
        summary: format!(
            "{} failed Bastion logins from one client IP to vm-app-{:03} within 15 min",
            5 + i % 7,
            i % 400
        ),
        bastion_host: format!("bas-hub-{:02}", i % 20),
        bastion_resource_id: format!(
            "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub/providers/Microsoft.Network/bastionHosts/bas-hub-{:02}",
            i % 20
        ),
        user_name: format!("user{:04}", i % 3000),
        user_email: format!("user{:04}@contoso.com", i % 3000),
        client_ip: ip.clone(),
        target_vm: format!("vm-app-{:03}", i % 400),
        target_resource_id: format!(
            "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-app-{:03}",
            i % 400
        ),
        session_id: uuid::Uuid::new_v4().to_string(),
        recording_id: String::new(),
        data: json!({"dimension": "clientIp", "clientIp": ip, "count": 5 + i % 7,
            "windowStart": "2026-11-25T12:00:00Z", "windowEnd": "2026-11-25T12:15:00Z",
            "userNames": [format!("user{:04}", i % 3000), "admin"],
            "tunnelIds": [uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string()]}),
    }
}

/// Rows per seeding transaction and transactions in flight. Seeding 20,000 rows as single writes
/// 32 at once, or as transactions of 100, timed out on a loaded machine's Azurite; transactions of
/// 25 rows (about 30 KB), 4 at once, do not.
const SEED_BATCH: usize = 25;
const SEED_IN_FLIGHT: usize = 4;
/// Tries of one seeding transaction (a run at load average 10 lost transactions to timeouts after
/// 27 minutes of seeding 20,000 rows).
const SEED_TRIES: usize = 20;

/// Records `rows` rows into the outbox of `tables` (not timed): the entities the outbox writes,
/// into the bucket of `written` (an hour ago: a closed bucket), upserted in transactions of
/// [`SEED_BATCH`], [`SEED_IN_FLIGHT`] at once.
async fn seed(tables: Arc<dyn TableStore>, rows: usize, bucket: &str) {
    let t0 = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let writes: Vec<(Entity, WriteMode)> = (0..rows)
        .map(|i| {
            let e = outbox::entity_of(&row(i, t0)).expect("an outbox entity");
            (e, WriteMode::Upsert)
        })
        .collect();
    let batches = writes.chunks(SEED_BATCH).map(|chunk| {
        let tables = tables.clone();
        async move {
            // Upserts: a transaction that timed out (a loaded machine's Azurite) is sent again.
            let mut tries = 0;
            loop {
                tries += 1;
                match tables.batch(bucket, chunk).await {
                    Err(AzureError::Transient(_)) if tries < SEED_TRIES => continue,
                    r => return r,
                }
            }
        }
    });
    let done: Vec<_> = futures::stream::iter(batches)
        .buffer_unordered(SEED_IN_FLIGHT)
        .collect()
        .await;
    let failed: Vec<_> = done.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "seeded: {failed:?}");
}

fn tables_on(cs: &str) -> Arc<CountingTables<TableRestClient>> {
    let config = common::config(&[("AzureWebJobsStorage", cs.to_owned())]);
    let app = &config.storage.app;
    Arc::new(CountingTables::new(
        TableRestClient::new(app, "bench").expect("table client"),
    ))
}

fn client(url: &str) -> IngestionClient {
    let timeouts = Timeouts {
        per_try: Duration::from_secs(20),
        total: Duration::from_secs(40),
    };
    let endpoint = url::Url::parse(url).expect("url");
    let http = Client::new(
        "Logs Ingestion",
        Some(&endpoint),
        Auth::None,
        timeouts,
        Policy::CONTROL,
    )
    .expect("client");
    IngestionClient::new(http, endpoint, DCR)
}

/// What a contestant did: seconds in all, calls, gzip bytes, and the seconds spent reading (before
/// the first call), uploading and removing (the rest).
struct Done {
    secs: f64,
    calls: usize,
    gzip: usize,
    read: f64,
    upload: f64,
}

/// The exporter until nothing waits, its clock at `now`.
async fn exporter(tables: Arc<dyn TableStore>, url: &str, now: Arc<dyn Clock>) -> Done {
    let blobs = Arc::new(InMemoryBlobStore::new("bench"));
    let ports = Ports {
        tables: tables.clone(),
        sources: Arc::new(Sources::single(
            Source::new(blobs.clone(), "recordings"),
            Source::new(blobs, "insights-logs-bastionauditlogs"),
        )),
        clock: now.clone(),
        outbox: Outbox::on(tables, now),
    };
    let started = Instant::now();
    let counted = Counted {
        inner: client(url),
        calls: AtomicUsize::new(0),
        gzip: AtomicUsize::new(0),
        uploading: AtomicUsize::new(0),
        first: AtomicUsize::new(usize::MAX),
        started,
    };
    for run in 0.. {
        let owner = format!("bench-{run}");
        let report = drain::run(
            &ports,
            &counted,
            &owner,
            Instant::now() + Duration::from_secs(45),
        )
        .await;
        assert!(report.error.is_none(), "{report:?}");
        if report.calls == 0 {
            break;
        }
    }
    Done {
        secs: started.elapsed().as_secs_f64(),
        calls: counted.calls.load(Ordering::Relaxed),
        gzip: counted.gzip.load(Ordering::Relaxed),
        read: counted.first.load(Ordering::Relaxed) as f64 / 1e6,
        upload: counted.uploading.load(Ordering::Relaxed) as f64 / 1e6,
    }
}

/// The bare client until nothing waits: every row of the bucket read first, then the calls, then
/// the bucket deleted.
async fn bare(tables: Arc<dyn TableStore>, url: &str, bucket: &str, open: bool) -> Done {
    let http = reqwest::Client::new();
    let post = format!("{url}/dataCollectionRules/{DCR}/streams/{STREAM}?api-version=2023-01-01");
    let t: &dyn TableStore = tables.as_ref();
    let (mut calls, mut gzip) = (0, 0);
    let started = Instant::now();
    let mut after: Option<String> = None;
    let mut page = Vec::new();
    loop {
        let more = outbox::unsent(t, bucket, Table::Detections, after.as_deref(), 1000)
            .await
            .expect("page");
        let Some(last) = more.last() else { break };
        after = Some(last.row_key.clone());
        page.extend(more);
    }
    let read = started.elapsed().as_secs_f64();
    let mut upload = 0.0;
    {
        let records: Vec<&str> = page.iter().map(|p| p.record.as_str()).collect();
        for call in pack(&records, MAX_CALL_BYTES) {
            let sent_at = Instant::now();
            let res = http
                .post(&post)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(call.gzip.clone())
                .send()
                .await
                .expect("post");
            assert_eq!(
                res.status(),
                204,
                "{}",
                res.text().await.unwrap_or_default()
            );
            upload += sent_at.elapsed().as_secs_f64();
            calls += 1;
            gzip += call.gzip.len();
            if !open {
                continue;
            }
            // An open bucket: the drain's removal (tasks of 500 rows, the outbox's transactions
            // of 100 in turn, one refused for a changed row halved, any other redone row by row:
            // a loaded machine's Azurite times some out), four tasks at once.
            let removals: Vec<_> = page[call.range]
                .chunks(500)
                .map(|c| outbox::remove_all(t, bucket, Table::Detections, c))
                .collect();
            let done: Vec<(usize, usize, usize)> = futures::stream::iter(removals)
                .buffer_unordered(4)
                .collect()
                .await;
            assert!(
                done.iter().all(|d| d.1 == 0 && d.2 == 0),
                "removed: {done:?}"
            );
        }
    }
    if !open {
        t.delete_table(bucket).await.expect("the bucket deleted");
    }
    Done {
        secs: started.elapsed().as_secs_f64(),
        calls,
        gzip,
        read,
        upload,
    }
}

/// The rows of `table` in the outbox's buckets, sent or not (a page of 1,000 at a time).
async fn recorded(tables: &dyn TableStore, table: Table) -> usize {
    let mut rows = 0;
    for name in tables.list_tables(OUTBOX_TABLE).await.expect("tables") {
        if outbox::buckets::bucket_of(&name).is_none_or(|(t, _)| t != table) {
            continue;
        }
        let mut after: Option<String> = None;
        loop {
            let page = outbox::unsent(tables, &name, table, after.as_deref(), 1000);
            let page = page.await.expect("rows");
            let Some(last) = page.last() else { break };
            after = Some(last.row_key.clone());
            rows += page.len();
        }
    }
    rows
}

async fn rate(rows: usize, repeats: usize, open: bool) {
    let azurite =
        common::azurite::Azurite::from_args_in(".azurite-bench-sentinel").expect("an Azurite");
    let mut rates: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut shape = None;
    for run in 0..repeats {
        let mut order = ["exporter", "bare"];
        if run % 2 == 1 {
            order.reverse();
        }
        for who in order {
            let cs = azurite.fresh();
            let tables = tables_on(&cs);
            // Closed: written an hour ago. Open: now, the exporter's clock held there.
            let written = if open {
                OffsetDateTime::now_utc()
            } else {
                OffsetDateTime::now_utc() - time::Duration::hours(1)
            };
            let clock: Arc<dyn Clock> = if open {
                Arc::new(FixedClock::new(written))
            } else {
                Arc::new(SystemClock)
            };
            let bucket = outbox::bucket_table(Table::Detections, written);
            tables.ensure_table(&bucket).await.expect("table");
            seed(tables.clone(), rows, &bucket).await;
            let seeded = tables.total();
            let served = Served::start();
            let done = if who == "exporter" {
                exporter(tables.clone(), &served.1, clock).await
            } else {
                bare(tables.clone(), &served.1, &bucket, open).await
            };
            let (secs, calls, gzip) = (done.secs, done.calls, done.gzip);
            // The same state either way: every recorded id accepted once, the outbox empty.
            let stats = served.stats().await;
            assert_eq!(stats["accepted"], rows, "{who}: {stats}");
            assert_eq!(stats["distinct"], rows, "{who}: {stats}");
            let left = tables.list_tables(OUTBOX_TABLE).await.expect("tables");
            assert!(
                open || left.iter().all(|t| t == OUTBOX_TABLE),
                "{who}: no bucket is left: {left:?}"
            );
            let waiting = recorded(tables.as_ref(), Table::Detections).await;
            assert_eq!(waiting, 0, "{who}: the outbox is empty");
            let table_calls = tables.total() - seeded;
            let rate = rows as f64 / secs;
            let per_10k = |n: f64| n * 10_000.0 / rows as f64;
            let mb = gzip as f64 / 1e6;
            println!(
                "{{\"run\":{run},\"who\":\"{who}\",\"rows\":{rows},\"secs\":{secs:.3},\"rows_per_s\":{rate:.0},\"calls\":{calls},\"calls_per_10k_rows\":{:.2},\"gzip_mb_per_10k_rows\":{:.3},\"calls_per_gzip_mb\":{:.3},\"table_calls_per_row\":{:.3},\"read_s\":{:.3},\"upload_s\":{:.3},\"retire_s\":{:.3}}}",
                per_10k(calls as f64),
                per_10k(mb),
                calls as f64 / mb,
                table_calls as f64 / rows as f64,
                done.read,
                done.upload,
                done.secs - done.read - done.upload
            );
            rates.entry(who).or_default().push(rate);
            shape = Some((calls, gzip));
        }
    }
    let (e, b) = (
        common::median(&rates["exporter"]),
        common::median(&rates["bare"]),
    );
    let (calls, gzip) = shape.unwrap_or_default();
    let json_per_row = {
        let r = serde_json::to_string(&row(0, OffsetDateTime::now_utc())).expect("json");
        r.len()
    };
    println!(
        "{{\"bucket\":\"{}\",\"median_exporter_rows_per_s\":{e:.0},\"median_bare_rows_per_s\":{b:.0},\"ratio_of_medians\":{:.3},\"calls\":{calls},\"min_calls_at_1mb\":{},\"json_bytes_per_row\":{json_per_row}}}",
        if open { "open" } else { "closed" },
        e / b,
        gzip.div_ceil(MAX_CALL_BYTES)
    );
}
