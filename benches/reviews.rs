//! The review queue of an estate at `--rates` sessions a day (2,000 and 20,000 by default) on
//! Azurite: the answer time of `GET /api/reviews/queue` from the real `handler` (the default 50
//! items, 500 items, one host's 50; goal ≤ 1 s) and the storage calls and wall time of one
//! `ReviewQueue` run of the steady state (the sessions of five minutes that changed: those that
//! started and those that ended), with the queue holding the whole unreviewed backlog.
//!
//! Per rate, on a fresh Azurite: `--days` days of sessions (10 hosts, 400 users, 600 VMs, a third
//! outside office hours, one in twenty unrecorded, one in fifty a failed login) are stored as the
//! audit-log tail stores them (their `sessionwindows` rows, 100 to a transaction) and recorded as
//! changed as the join pass records them; then `ReviewQueue`'s own code derives them all (its rate
//! is printed: the first indexing of a backfill), through the app's table client behind the
//! library's counting decorator. Nobody reviews, so the queue is the whole backlog, and every
//! session of the backlog already due is announced first (as earlier runs would have). Then the
//! steady state: a five-minute slice of sessions changes (its row rewritten, recorded as
//! changed) and one run derives it and raises what fell due, counted per operation; the handler
//! answers the queue requests meanwhile.
//!
//! Usage: `scripts/bench-reviews.sh [-- --rates 2000,20000 --days 3 --requests 30]
//! [--shared-azurite]`.

#[path = "common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the other Azurite benches, which use the rest"
)]
mod common;

#[path = "azurite/handler.rs"]
#[allow(dead_code, reason = "the RecordingCreated bench uses the rest")]
mod handler;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use bastion_recordings::catalogue::changes;
use bastion_recordings::catalogue::days::DayRow;
use bastion_recordings::catalogue::session::SessionRecord;
use bastion_recordings::dates::format_utc_millis;
use bastion_recordings::ports::Ports;
use bastion_recordings::reviews::ReviewSettings;
use bastion_recordings::reviews::queue::entry::{self, MARKER, PARTITION, QUEUE_TABLE};
use bastion_recordings::reviews::queue::read::ranked;
use bastion_recordings::reviews::queue::{derive, overdue};
use bastion_recordings::sources::{Source, Sources};
use bastion_recordings::state::Raised;
use bastion_recordings::tables::filter::Op;
use bastion_recordings::tables::ops::query_all;
use bastion_recordings::tables::{Entity, Filter, TableStore, WriteMode};
use bastion_testkit::clock::FixedClock;
use futures::StreamExt as _;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use common::azurite::Azurite;
use common::{Calls, arg, ms, num};

/// The first day of the estate.
const FROM: OffsetDateTime = datetime!(2025-03-03 00:00 UTC);
/// Seeding transactions in flight.
const SEEDERS: usize = 2;

fn obj(v: Value) -> Entity {
    match v {
        Value::Object(m) => m,
        _ => Entity::new(),
    }
}

/// Session `i` of a day of `rate` sessions, on day `day`: its start spread over the day, 20
/// minutes long.
fn session(day: i64, i: usize, rate: usize) -> DayRow {
    let second = i64::try_from(i * 86_400 / rate.max(1)).unwrap_or(0);
    let start = FROM + Duration::days(day) + Duration::seconds(second);
    let n = usize::try_from(day).unwrap_or(0) * rate + i;
    let mut s = SessionRecord::new(&format!("{:08x}-0000-4000-8000-{n:012x}", n * 7919));
    s.bastion_host = format!("bas-{:02}", n % 10);
    s.user_name = format!("user{:03}", n % 400);
    s.target_vm = format!("vm-{:03}", n % 600);
    s.client_ip = format!("203.0.113.{}", n % 250);
    s.protocol = "ssh".into();
    s.outcome = if n.is_multiple_of(50) {
        "login-failed"
    } else {
        "connected"
    }
    .into();
    s.session_start = Some(start);
    s.session_end = (!n.is_multiple_of(50)).then(|| start + Duration::minutes(20));
    let mut w = DayRow::of(&s).expect("a row");
    w.recorded = !n.is_multiple_of(20) && w.outcome == "connected";
    w.joined = true;
    w
}

/// Writes `rows` 100 to a transaction (each partition's own) and records them as changed.
async fn store(tables: &dyn TableStore, rows: &[DayRow]) {
    let mut chunks: Vec<Vec<(Entity, WriteMode)>> = Vec::new();
    for day in rows.chunk_by(|a, b| a.day() == b.day()) {
        for chunk in day.chunks(100) {
            chunks.push(
                chunk
                    .iter()
                    .map(|w| (w.to_entity(), WriteMode::Upsert))
                    .collect(),
            );
        }
    }
    futures::stream::iter(chunks)
        .map(|c| async move { again(|| tables.batch("sessionwindows", &c)).await })
        .buffer_unordered(SEEDERS)
        .collect::<Vec<_>>()
        .await;
    let changed: Vec<(String, String)> = rows
        .iter()
        .map(|w| (w.day(), w.tunnel_id.clone()))
        .collect();
    for chunk in changed.chunks(1000) {
        again(|| changes::record(tables, chunk)).await;
    }
}

/// A busy emulator may not answer a seeding call in time: it is made again (all are idempotent).
async fn again<T, F, Fut>(mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, bastion_recordings::azure::AzureError>>,
{
    for _ in 0..30 {
        match call().await {
            Ok(v) => return v,
            Err(e) if e.is_retryable() => tokio::time::sleep(StdDuration::from_secs(2)).await,
            Err(e) => panic!("seeding: {e}"),
        }
    }
    call().await.expect("seeding, after 30 tries")
}

/// `n` requests of `path`: median, 95th percentile and slowest answer, and the item count.
async fn answers(
    client: &reqwest::Client,
    url: &str,
    n: usize,
) -> (StdDuration, StdDuration, StdDuration, u64) {
    let mut times = Vec::with_capacity(n);
    let mut count = 0;
    for _ in 0..n {
        let t = Instant::now();
        let res = client.get(url).send().await.expect("request");
        assert_eq!(res.status(), 200, "{url}");
        let body: Value = res.json().await.expect("json");
        times.push(t.elapsed());
        count = body["count"].as_u64().unwrap_or_default();
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.5), at(0.95), times[times.len() - 1], count)
}

/// One rate: seed, derive the backlog, then the steady state.
async fn rate(azurite: &Azurite, rate: usize, days: i64, requests: usize) {
    let cs = azurite.fresh();
    let prefix: String = format!("rq{}", common::run_id()).chars().take(12).collect();
    let env = vec![
        ("AzureWebJobsStorage", cs.clone()),
        ("TABLE_PREFIX", prefix),
        ("CATALOGUE_AUTH", "none".to_owned()),
    ];
    let config = common::config(&env);
    let counted = common::clients(&config);
    let (blobs, tables) = counted.clone();
    let end = FROM + Duration::days(days);
    // The run's own clock: its budget never cuts the backlog's derivation short.
    let clock = Arc::new(FixedClock::new(end));
    let ports = Ports {
        tables: tables.clone(),
        sources: Arc::new(Sources::single(
            Source::new(blobs.clone(), "recordings"),
            Source::new(blobs, "insights-logs-bastionauditlogs"),
        )),
        clock,
        outbox: bastion_recordings::export::Outbox::off(),
    };
    let settings = ReviewSettings::default();
    tables.ensure_table("sessionwindows").await.expect("table");

    let seeding = Instant::now();
    let all: Vec<DayRow> = (0..days)
        .flat_map(|d| (0..rate).map(move |i| session(d, i, rate)))
        .collect();
    // The last five minutes' sessions change in the steady state: the rest is the backlog.
    let slice = end - Duration::minutes(5);
    let (backlog, recent): (Vec<DayRow>, Vec<DayRow>) =
        all.into_iter().partition(|w| w.start < slice);
    store(tables.as_ref(), &backlog).await;
    println!(
        "{rate}/day, {days} days: {} sessions stored in {:.0} s (not measured)",
        backlog.len(),
        seeding.elapsed().as_secs_f64()
    );

    let deriving = Instant::now();
    let before = Calls::of(&counted);
    let mut queued = 0;
    loop {
        let done = derive::refresh(&ports, &settings, None, &Raised, end)
            .await
            .expect("backlog");
        queued += done.queued;
        if done.sessions == 0 {
            break;
        }
    }
    let took = deriving.elapsed().as_secs_f64();
    let calls = Calls::of(&counted) - before;
    println!(
        "  backlog derived by ReviewQueue's code: {} sessions in {took:.0} s ({:.0}/s), {queued} queued, {:.2} calls per session ({})",
        backlog.len(),
        backlog.len() as f64 / took,
        calls.total() as f64 / backlog.len() as f64,
        calls.line()
    );
    // Earlier runs announced what fell due meanwhile: their marks are set here as those runs set
    // them (entry and rank row together), 25 sessions to a transaction.
    let announcing = Instant::now();
    let mut due = ranked(None);
    due.push(Filter::bool(MARKER, false));
    due.push(Filter::str("DueAt", Op::Lt, format_utc_millis(end)));
    let due = query_all(tables.as_ref(), QUEUE_TABLE, &Filter::And(due), usize::MAX)
        .await
        .expect("due");
    let marked: Vec<Vec<(Entity, WriteMode)>> = due
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .flat_map(|row| {
                    let mut rank = row.entity.clone();
                    rank.insert(MARKER.into(), true.into());
                    let tunnel = rank["TunnelId"].as_str().unwrap_or_default().to_owned();
                    let entry = json!({"PartitionKey": PARTITION, "RowKey": entry::entry_key(&tunnel),
                        "TunnelId": tunnel, "Rank": rank["RowKey"].clone(), "Reviewed": false,
                        MARKER: true, "OverdueBy": "backlog"});
                    [(rank, WriteMode::Upsert), (obj(entry), WriteMode::Upsert)]
                })
                .collect()
        })
        .collect();
    let t: &dyn TableStore = tables.as_ref();
    futures::stream::iter(&marked)
        .map(|batch| async move { again(|| t.batch(QUEUE_TABLE, batch)).await })
        .buffer_unordered(SEEDERS)
        .collect::<Vec<_>>()
        .await;
    println!(
        "  {} overdue sessions of the backlog marked announced in {:.0} s (not measured)",
        due.len(),
        announcing.elapsed().as_secs_f64()
    );

    let bin = std::env::var("BENCH_HANDLER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_handler").to_owned());
    let h = handler::Handler::start("this build".into(), &bin, &env).await;
    let base = h.url.trim_end_matches("/RecordingCreated").to_owned();
    let client = reqwest::Client::new();
    let queries = [
        (
            "GET /api/reviews/queue",
            format!("{base}/api/reviews/queue"),
        ),
        ("?limit=500", format!("{base}/api/reviews/queue?limit=500")),
        (
            "?bastion=BAS-07",
            format!("{base}/api/reviews/queue?bastion=BAS-07"),
        ),
    ];
    for (label, url) in &queries {
        let (median, p95, max, count) = answers(&client, url, requests).await;
        println!(
            "  {label}: median {:.0} ms, p95 {:.0} ms, max {:.0} ms ({count} items; goal <= 1000 ms)",
            ms(median),
            ms(p95),
            ms(max)
        );
    }

    // The steady state: five minutes of sessions start, five minutes' end.
    let ending: Vec<DayRow> = backlog
        .iter()
        .filter(|w| w.end.is_some_and(|e| e >= slice && e < end))
        .cloned()
        .collect();
    let changed: Vec<DayRow> = recent.into_iter().chain(ending).collect();
    store(tables.as_ref(), &changed).await;
    let before = Calls::of(&counted);
    let t = Instant::now();
    let done = derive::refresh(&ports, &settings, None, &Raised, end)
        .await
        .expect("run");
    let sent = overdue::overdue(tables.as_ref(), 24, end)
        .await
        .expect("overdue");
    let took = t.elapsed();
    let calls = Calls::of(&counted) - before;
    println!(
        "  one ReviewQueue run: {} changed sessions derived ({} queued), {} newly overdue, {} storage calls in {:.0} ms ({})",
        done.sessions,
        done.queued,
        sent.len(),
        calls.total(),
        ms(took),
        calls.line()
    );
    let (median, _, max, count) = answers(&client, &queries[0].1, requests).await;
    println!(
        "  GET /api/reviews/queue after the run: median {:.0} ms, max {:.0} ms ({count} items)",
        ms(median),
        ms(max)
    );
}

#[tokio::main]
async fn main() {
    let Some(azurite) = Azurite::from_args() else {
        return;
    };
    let rates: Vec<usize> = arg("--rates")
        .unwrap_or_else(|| "2000,20000".to_owned())
        .split(',')
        .map(|r| r.trim().parse().expect("a rate"))
        .collect();
    let days: i64 = num("--days", 3);
    let requests: usize = num("--requests", 30);
    println!("review queue on Azurite: {days} days of unreviewed sessions per rate");
    for r in rates {
        rate(&azurite, r, days, requests).await;
    }
}
