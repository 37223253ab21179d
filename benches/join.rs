//! Audit-log join cost: storage requests per audit record while tailing one audit hour, over a grid
//! of sessions in the hour × recordings in its window (run by `scripts/bench-join.sh`; a
//! benchmark, not a timed test).
//!
//! Per grid point, on fresh stores: `recordings` blobs without tunnel id or hints are catalogued
//! through `Reconcile`'s path (so they are unjoined: no session is known yet), spread over the
//! hour 09:00–10:00; then one `PT1H.json` receives the hour's `sessions` sessions (start spread over
//! the hour, 10 minutes long: a connect record and an end record each) in `--ticks` appends, in time
//! order, each followed by one `AuditLogTail` tick. Only the ticks are counted: every table and blob
//! call they make (the bench's own appends are not), and the rewrites among them: writes and
//! deletes of catalogue rows and of their VM/user index rows (a recording whose candidates changed
//! must be written; everything else is the join's overhead). Prints one row per point: records,
//! requests, requests per record, rewrites, requests per record without the rewrites, wall time.
//! `--breakdown` also prints the calls per table and operation.
//!
//! `--azurite` runs on Azurite (`AZURITE_CONNECTION_STRING`) instead of the in-memory stores. A
//! point that would make more than `--cap` requests (or run longer than `--cap-secs`) is cut there:
//! every later call fails, and the row shows `≥ cap`.
//!
//! Usage: `cargo bench --bench join -- [--sessions 10,100,1000] [--recordings 0,10,100,1000]
//! [--ticks 6] [--cap 500000] [--cap-secs 120] [--azurite] [--label before]`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use bastion_testkit::DefaultSources;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use bastion_recordings::audit_logs::{created, tail};
use bastion_recordings::azure::AzureError;
use bastion_recordings::config::Config;
use bastion_recordings::state::AppState;
use bastion_recordings::storage::{BlobItem, BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_testkit::storage::counting::CountingBlobStore;
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use bastion_testkit::tables::memory::InMemoryTables;
use bytes::Bytes;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const HOUR: OffsetDateTime = datetime!(2025-03-14 09:00 UTC);
const HOST_PATH: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn list(name: &str, default: &str) -> Vec<usize> {
    arg(name)
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(|n| n.trim().parse().expect("a number"))
        .collect()
}

/// Counts table calls (and the writes a changed join makes: catalogue rows and their VM/user index
/// rows), and cuts a run off at a cap: the hook of the tables the bench hands the app.
struct Metered {
    calls: AtomicU64,
    recording_writes: AtomicU64,
    by_table: std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
    cap: AtomicU64,
    give_up_at: std::sync::Mutex<Option<Instant>>,
    capped: AtomicBool,
}

impl Metered {
    fn count(&self, table: &str, op: &'static str) -> Result<(), AzureError> {
        *self
            .by_table
            .lock()
            .unwrap()
            .entry((table.to_owned(), op))
            .or_default() += 1;
        if matches!(op, "write" | "delete") && matches!(table, "recordings" | "recordingindex") {
            self.recording_writes.fetch_add(1, Ordering::Relaxed);
        }
        self.hit()
    }

    fn hit(&self) -> Result<(), AzureError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let late = self
            .give_up_at
            .lock()
            .unwrap()
            .is_some_and(|d| Instant::now() > d);
        if n >= self.cap.load(Ordering::Relaxed) || late {
            self.capped.store(true, Ordering::Relaxed);
            return Err(AzureError::Transient("bench cap reached".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl BeforeTableCall for Metered {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        self.count(call.table(), call.op())
    }
}

fn stamp(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// The hour's records, in time order: `(time, line)`.
fn records(sessions: usize) -> Vec<(OffsetDateTime, String)> {
    let mut out = Vec::new();
    for i in 0..sessions {
        let tunnel = format!("{i:08x}-0000-4000-8000-{:012x}", i * 7919);
        let start = HOUR + Duration::milliseconds((i as i64 * 3_600_000) / sessions as i64);
        let end = start + Duration::minutes(10);
        let (vm, user) = (i % 50, i % 100);
        let common = format!(
            r#""resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","category":"BastionAuditLogs","properties":{{"userName":"user{user}","clientIpAddress":"203.0.113.{ip}","protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-APP-WEU/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-APP-{vm:03}","subscriptionId":"11111111-2222-3333-4444-555555555555","userEmail":"user{user}@contoso.com","tunnelId":"{tunnel}""#,
            ip = i % 250
        );
        out.push((
            start,
            format!(
                r#"{{"time":"{}","operationName":"Microsoft.Network/BastionHost/connect",{common},"message":"Successfully Connected."}}}}"#,
                stamp(start)
            ),
        ));
        out.push((
            end,
            format!(
                r#"{{"time":"{}","operationName":"Microsoft.Network/BastionHost/disconnect",{common},"message":"Session Ended","sessionStartTime":"{}","sessionEndTime":"{}","duration":600000}}}}"#,
                stamp(end),
                stamp(start),
                stamp(end)
            ),
        ));
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

/// Fresh tables and the two container names of one grid point; blobs are made by the caller (the
/// counting wrapper needs the concrete store type).
struct Stores {
    tables: Arc<dyn TableStore>,
    recordings_container: String,
    auditlogs_container: String,
}

fn in_memory() -> (InMemoryBlobStore, Stores) {
    (
        InMemoryBlobStore::new("devstoreaccount1").without_interleaving(),
        Stores {
            tables: Arc::new(InMemoryTables::new().without_interleaving()),
            recordings_container: "recordings".into(),
            auditlogs_container: "insights-logs-bastionauditlogs".into(),
        },
    )
}

fn azurite() -> (bastion_recordings::storage::azure::AzureBlobStore, Stores) {
    let cs = std::env::var("AZURITE_CONNECTION_STRING").expect("AZURITE_CONNECTION_STRING");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let env: Vec<(&str, String)> = vec![
        ("AzureWebJobsStorage", cs),
        ("TABLE_PREFIX", format!("j{}", &id[..10])),
    ];
    let config =
        Config::from_lookup(&|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("config");
    let app = &config.storage.app;
    (
        bastion_recordings::storage::azure::AzureBlobStore::new(app).expect("blob client"),
        Stores {
            tables: Arc::new(
                TableRestClient::new(app, &format!("j{}", &id[..10])).expect("table client"),
            ),
            recordings_container: format!("rec-{}", &id[..12]),
            auditlogs_container: format!("aud-{}", &id[..12]),
        },
    )
}

struct Point {
    records: usize,
    requests: u64,
    rewrites: u64,
    capped: bool,
    wall: std::time::Duration,
}

async fn point<B: BlobStore>(
    store: B,
    s: Stores,
    sessions: usize,
    recordings: usize,
    ticks: usize,
) -> Point {
    let cap: u64 = arg("--cap").map_or(500_000, |v| v.parse().expect("cap"));
    let cap_secs: u64 = arg("--cap-secs").map_or(120, |v| v.parse().expect("cap-secs"));
    let metered = Arc::new(Intercepted::with(
        s.tables.clone(),
        Metered {
            calls: AtomicU64::new(0),
            recording_writes: AtomicU64::new(0),
            by_table: Default::default(),
            cap: AtomicU64::new(u64::MAX),
            give_up_at: std::sync::Mutex::new(None),
            capped: AtomicBool::new(false),
        },
    ));
    let blobs = Arc::new(CountingBlobStore::new(store));
    let lists = [&s.recordings_container, &s.auditlogs_container]
        .map(|c| format!("AzureWebJobsStorage:{c}"));
    let pairs = [
        ("RECORDINGS_SOURCES", lists[0].as_str()),
        ("AUDITLOGS_SOURCES", lists[1].as_str()),
    ];
    let config = bastion_testkit::state::config(&pairs).expect("config");
    let stores = bastion_testkit::state::stores(blobs.clone(), metered.clone());
    let clock = Arc::new(bastion_recordings::clock::SystemClock);
    let policy = bastion_recordings::catalogue::policy::Policy::builtin();
    let state = AppState::assemble(config, policy, stores, clock);
    // Recordings first: catalogued (and joined: nothing to join yet) before the log is read.
    for j in 0..recordings {
        let name = format!("bench/other-{j:05}.webm");
        let blob = BlobRef::new(s.recordings_container.clone(), name.clone());
        blobs
            .put(
                &blob,
                Bytes::from_static(b"rec"),
                "video/webm",
                &Metadata::new(),
            )
            .await
            .expect("put");
        let mut props = blobs.properties(&blob).await.expect("props");
        props.created = Some(
            HOUR + Duration::milliseconds(((2 * j as i64 + 1) * 1_800_000) / recordings as i64),
        );
        let item = BlobItem { name, props };
        bastion_recordings::state::recordings(&state)
            .listed(
                state.ports.sources.default_recordings(),
                &item,
                HOUR + Duration::hours(1),
                None,
            )
            .await
            .expect("catalogued");
    }
    let log = BlobRef::new(s.auditlogs_container.clone(), HOST_PATH);
    blobs
        .create_append(&log, "application/json")
        .await
        .expect("create log");
    created::register(
        &bastion_recordings::state::tailer(&state),
        state.ports.sources.default_audit_logs(),
        HOST_PATH,
        HOUR,
        HOUR,
        false,
    )
    .await
    .expect("register");
    let all = records(sessions);
    let per_tick = all.len().div_ceil(ticks.max(1)).max(1);
    // The cap counts from here.
    let calls = metered.hook().calls.load(Ordering::Relaxed);
    metered
        .hook()
        .cap
        .store(calls.saturating_add(cap), Ordering::Relaxed);
    *metered.hook().give_up_at.lock().unwrap() =
        Some(Instant::now() + std::time::Duration::from_secs(cap_secs));
    metered.hook().recording_writes.store(0, Ordering::Relaxed);
    metered.hook().by_table.lock().unwrap().clear();
    let (mut requests, mut wall) = (0u64, std::time::Duration::ZERO);
    for batch in all.chunks(per_tick) {
        let text: String = batch.iter().map(|(_, l)| format!("{l}\n")).collect();
        blobs.append(&log, Bytes::from(text)).await.expect("append");
        let now = batch.last().map_or(HOUR, |(t, _)| *t) + Duration::minutes(1);
        let (t0, b0) = (metered.hook().calls.load(Ordering::Relaxed), blobs.total());
        let started = Instant::now();
        let report = tick_and_join(&state, now).await;
        wall += started.elapsed();
        requests += metered.hook().calls.load(Ordering::Relaxed) - t0 + blobs.total() - b0;
        if metered.hook().capped.load(Ordering::Relaxed) {
            break;
        }
        let report = report.expect("tick");
        assert!(report.failed == 0, "a tick failed: {report:?}");
        // Read on the new build only (the field did not exist before): `TickReport` is printed.
        assert!(
            !format!("{report:?}").contains("join_failed: true"),
            "the join failed: {report:?}"
        );
    }
    if std::env::args().any(|a| a == "--breakdown") {
        let t = metered.hook().by_table.lock().unwrap();
        let parts: Vec<String> = t
            .iter()
            .map(|((t, op), n)| format!("{t}.{op} {n}"))
            .collect();
        eprintln!(
            "{sessions} sessions × {recordings} recordings: {}; blobs {:?}",
            parts.join(", "),
            blobs.by_table()
        );
    }
    Point {
        records: all.len(),
        requests,
        rewrites: metered.hook().recording_writes.load(Ordering::Relaxed),
        capped: metered.hook().capped.load(Ordering::Relaxed),
        wall,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let azurite = std::env::args().any(|a| a == "--azurite");
    let sessions = list("--sessions", "10,100,1000");
    let recordings = list("--recordings", "0,10,100,1000");
    let ticks: usize = arg("--ticks").map_or(6, |v| v.parse().expect("ticks"));
    let label = arg("--label").unwrap_or_else(|| "this build".into());
    println!(
        "join bench ({label}, {}, {ticks} ticks per hour)",
        if azurite { "Azurite" } else { "in memory" }
    );
    println!(
        "| sessions | recordings | records | requests | requests/record | rewrites | (requests − rewrites)/record | wall |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &s in &sessions {
        for &m in &recordings {
            let p = if azurite {
                let (b, st) = self::azurite();
                point(b, st, s, m, ticks).await
            } else {
                let (b, st) = in_memory();
                point(b, st, s, m, ticks).await
            };
            let ge = if p.capped { "≥ " } else { "" };
            println!(
                "| {s} | {m} | {} | {ge}{} | {ge}{:.1} | {ge}{} | {ge}{:.1} | {:.0} ms |",
                p.records,
                p.requests,
                p.requests as f64 / p.records as f64,
                p.rewrites,
                p.requests.saturating_sub(p.rewrites) as f64 / p.records as f64,
                p.wall.as_secs_f64() * 1e3
            );
        }
    }
}

/// One `AuditLogTail` tick, then the join's part, as the function's units run them.
async fn tick_and_join(
    state: &AppState,
    now: OffsetDateTime,
) -> Result<tail::TickReport, bastion_recordings::audit_logs::Error> {
    let a = &state.audit;
    let time = bastion_recordings::clock::Budget::after(state.ports.clock.clone(), a.tail_budget);
    let mut r = bastion_testkit::tail::tick(&bastion_recordings::state::tailer(state), now).await?;
    let waits = (a.unrecorded_grace, a.session_max.max(a.open_session_max));
    let join = bastion_recordings::state::join(state);
    let j = bastion_recordings::join::tick::after_reads(&join, now, &time, a.tail_look_back, waits)
        .await;
    (r.joined, r.cut, r.join_failed) = (r.joined + j.rewritten, r.cut | j.cut, j.failed);
    r.findings.extend(j.findings);
    Ok(r)
}
