//! The fanned-out timers at many Bastion hosts, on Azurite, through real processes: a
//! benchmark, not a timed test. Per host count, a freshly started Azurite of the bench's own
//! (`.azurite-bench-fanout`) behind a counting proxy ([`proxy`]), the loopback fake Resource
//! Manager of the e2e tests (REST specs' shapes; each host with one live session; a fixed round
//! trip per request; optionally a token bucket per subscription, `--bucket`) with the hosts spread
//! over `--subscriptions` ([`estate`]), and one `handler` that plans (the timer's instance). Then,
//! per instance count, that many `devhost` + `handler` pairs consuming queue `workunits`
//! ([`instances`]), and `--ticks` ticks of each timer of `--timers` after one settling tick: the
//! planner's reply's units are put on the queue (the timer's queue output), and the tick ends when
//! the table `workunits` shows each of them done (or poisoned).
//!
//! `AuditLogTail`: before the settling tick and every odd tick after it, each host's hour blob
//! grows by a record ([`grow`]): the audit lag from its append to its session row, in ticks;
//! the even ticks are quiet. `--throttle`: in each measured tick, from its first read of the
//! second subscription, that subscription's reads answer 429 for `--throttle-wait` seconds (10),
//! with the seconds left as `Retry-After`.
//!
//! Per (timer, hosts, instances): the tick's wall time from the plan to the last unit done (p50,
//! p99, max); storage calls per host per tick by service, the queue's included (every process's,
//! the devhosts' idle polls during the tick too), and per quiet tick; Resource Manager requests
//! per host per tick and the answers that were 429; per subscription, its requests and when its
//! last unit ended; `AuditLogTail`'s lag p50/p99/max. One JSON line each, then a table.
//!
//! ```sh
//! cargo bench --profile dev --bench fanout -- [--quick] [--hosts 100,300,1000 --instances 1,2,4
//!   --ticks 5 --timers LiveSessions,AuditLogTail,EstateCheck,Reconcile --sessions 1
//!   --latency-ms 100 --retry-after 1 --bucket 0 --refill 25 --subscriptions 1
//!   --throttle --throttle-wait 10]
//! ```
//! `--quick`: 100 and 300 hosts on 1 and 2 instances, 3 ticks. `--arm-shapes`: each tick's
//! Resource Manager requests counted by shape (the path without its names). `--planner-log FILE`:
//! the planner's log lines of each tick appended to FILE (its phases' times, each storage try's),
//! after a line with its reply's time to the last byte, its size and its time parsed.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
#[allow(dead_code, reason = "shared with the other Azurite benches")]
mod common;
mod cpu;
mod estate;
#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/estate/fake_arm.rs"]
mod fake_arm;
mod grow;
#[path = "../../tests/e2e/harness.rs"]
mod harness;
mod instances;
mod proxy;
mod report;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bastion_recordings::tables::filter::Op;
use bastion_recordings::tables::ops::query_all;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Filter, Stored, get_str};
use futures::StreamExt as _;
use serde_json::json;
use time::OffsetDateTime;

use common::azurite::Azurite;
use common::{arg, flag, num};
use estate::{estate, settings, subscription, subscription_of};
use fake_arm::FakeArm;
use harness::{HandlerProcess, fixture, queue_outputs};
use instances::Instance;

fn list(name: &str, quick: &str, full: &str) -> Vec<String> {
    arg(name)
        .unwrap_or_else(|| if flag("--quick") { quick } else { full }.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn numbers(name: &str, quick: &str, full: &str) -> Vec<usize> {
    list(name, quick, full)
        .iter()
        .map(|n| n.parse().expect("a number"))
        .collect()
}

/// Waits until every unit of `period` of `timer` is done or poisoned on table `workunits`, looking
/// once a second (up to a second late: ticks take tens of seconds) at that period's rows only, so
/// the bench's own reads load the emulator little; those rows, each with the seconds from `began`
/// to the look that first saw it ended (a unit row carries no end time of its own, and the table
/// client drops the service's `Timestamp`).
async fn settled(
    tables: &TableRestClient,
    (timer, period): (&str, &str),
    units: usize,
    began: Instant,
) -> Vec<(Stored, f64)> {
    let mut seen: BTreeMap<String, f64> = BTreeMap::new();
    let give_up = Instant::now() + Duration::from_secs(num("--unit-timeout-s", 1800));
    loop {
        let of_period = Filter::And(vec![
            Filter::partition(timer),
            Filter::str("Period", Op::Eq, period),
        ]);
        let rows: Vec<Stored> = query_all(tables, "workunits", &of_period, 20_000)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| get_str(&r.entity, "Period") == Some(period))
            .collect();
        let ended = |r: &Stored| matches!(get_str(&r.entity, "State"), Some("done" | "poisoned"));
        for r in rows.iter().filter(|r| ended(r)) {
            let unit = get_str(&r.entity, "Unit").unwrap_or_default().to_owned();
            seen.entry(unit)
                .or_insert_with(|| began.elapsed().as_secs_f64());
        }
        let ended = rows.iter().filter(|r| ended(r)).count();
        if ended >= units {
            let at = |r: &Stored| seen.get(get_str(&r.entity, "Unit").unwrap_or_default());
            return rows
                .iter()
                .map(|r| (r.clone(), at(r).copied().unwrap_or(f64::NAN)))
                .collect();
        }
        assert!(
            Instant::now() < give_up,
            "{timer} {period}: {ended} of {units} units ended"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Calls on the work queue and its poison queue so far.
fn work_queue(counts: &proxy::Counts) -> u64 {
    counts.queue("workunits") + counts.queue("workunits-poison")
}

/// What one tick took.
pub(crate) struct Tick {
    pub(crate) wall: f64,
    /// The planner's reply: its wall seconds.
    pub(crate) plan: f64,
    /// CPU seconds of the handlers, devhosts and the emulator over the tick ([`cpu`]).
    pub(crate) cpu: f64,
    pub(crate) units: usize,
    /// Storage calls by service (blob, queue, table).
    pub(crate) calls: [u64; 3],
    /// Of the queue calls, those on the work queue (the rest: other queues' idle polls).
    pub(crate) work_queue: u64,
    pub(crate) requests: usize,
    pub(crate) throttled: usize,
    /// Per subscription (of the units and the requests): requests, seconds from the plan to its
    /// units' ends (first, median, last).
    pub(crate) by_subscription: BTreeMap<String, (usize, Vec<f64>)>,
    /// Whether the hosts' audit logs grew before it.
    pub(crate) grew: bool,
    /// Storage calls by operation ([`proxy::Counts::ops`]).
    pub(crate) ops: BTreeMap<String, u64>,
}

/// One tick of the planner's timer at minute `minute`, its units through the queue.
async fn tick(run: &Run<'_>, timer: &str, minute: i64, grew: bool) -> Tick {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!(timer);
    inv["Metadata"]["sys"]["UtcNow"] =
        json!(bastion_recordings::dates::format_utc_millis(at(minute)));
    let (calls, arm) = (
        run.counts.now(),
        run.arm.with(|e| (e.requests.len(), e.throttled)),
    );
    let queued = work_queue(run.counts);
    let ops = run.counts.ops();
    let logged = run.planner.logs.lock().expect("logs").len();
    let (t, cpu) = (Instant::now(), cpu::seconds());
    let (status, _, text) = run
        .planner
        .invoke_raw(timer, serde_json::to_vec(&inv).expect("json"))
        .await;
    let raw = t.elapsed().as_secs_f64();
    let reply: serde_json::Value = serde_json::from_str(&text).expect("a JSON reply");
    let plan = t.elapsed().as_secs_f64();
    if let Some(path) = arg("--planner-log") {
        let lines = run.planner.logs.lock().expect("logs")[logged..].join("\n");
        let head = format!(
            "=== {timer} minute {minute}: raw reply {raw:.3} s, {} bytes, parsed {plan:.3} s\n",
            text.len()
        );
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("log");
        std::io::Write::write_all(&mut f, (head + &lines + "\n").as_bytes()).expect("log");
    }
    assert_eq!(status, 200, "{timer}: {reply}");
    let units = queue_outputs(&reply, "workunits");
    let http = reqwest::Client::new();
    futures::stream::iter(units.iter().enumerate())
        .for_each_concurrent(32, |(i, u)| {
            run.instances[i % run.instances.len()].enqueue(&http, u)
        })
        .await;
    let mut rows = Vec::new();
    if let Some(period) = units.first().and_then(|u| u["period"].as_str()) {
        rows = settled(run.tables, (timer, period), units.len(), t).await;
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu::seconds() - cpu;
    let after = run.counts.now();
    let (requests, throttled, mut by_subscription) = run.arm.with(|e| {
        let mut by: BTreeMap<String, (usize, Vec<f64>)> = BTreeMap::new();
        let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
        for r in &e.requests[arm.0..] {
            by.entry(subscription_of(r)).or_default().0 += 1;
            *shapes.entry(report::shape(r)).or_default() += 1;
        }
        if flag("--arm-shapes") {
            eprintln!("{timer} Resource Manager requests by shape: {shapes:#?}");
        }
        (e.requests.len(), e.throttled, by)
    });
    for (r, ended) in rows.iter().filter(|(_, e)| e.is_finite()) {
        let unit = get_str(&r.entity, "Unit").unwrap_or_default();
        let ends = &mut by_subscription.entry(subscription_of(unit)).or_default().1;
        ends.push(*ended);
    }
    Tick {
        wall,
        plan,
        cpu,
        units: units.len(),
        calls: [0, 1, 2].map(|i| after[i] - calls[i]),
        work_queue: work_queue(run.counts) - queued,
        requests: requests - arm.0,
        throttled: throttled - arm.1,
        by_subscription,
        grew,
        ops: (run.counts.ops().into_iter())
            .map(|(k, v)| (v - ops.get(&k).copied().unwrap_or(0), k))
            .filter(|(v, _)| *v > 0)
            .map(|(v, k)| (k, v))
            .collect(),
    }
}

/// The simulated time of minute `minute`.
fn at(minute: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-11-25 12:00 UTC) + time::Duration::minutes(minute)
}

struct Run<'a> {
    planner: &'a HandlerProcess,
    instances: &'a [Instance],
    tables: &'a TableRestClient,
    counts: &'a proxy::Counts,
    arm: &'a FakeArm,
}

/// Ticks of `timer` (the settling one first); with `growth`, the audit logs grow before the
/// settling tick and every odd one after it: the ticks and the lags seen (in ticks).
async fn ticks_of(
    run: &Run<'_>,
    timer: &str,
    minute: &mut i64,
    mut growth: Option<&mut grow::Growth>,
    hosts: usize,
) -> (Vec<Tick>, Vec<f64>, usize) {
    let (mut out, mut lags, mut unseen) = (Vec::new(), Vec::new(), 0);
    for k in 0..=num("--ticks", if flag("--quick") { 3 } else { 5 }) {
        *minute += 1;
        let grows = growth.is_some() && (k == 0 || k % 2 == 1);
        if let Some(g) = growth.as_deref_mut().filter(|_| grows) {
            g.append(hosts, at(*minute), *minute as u64).await;
        }
        if k > 0 && flag("--throttle") {
            let span = (
                format!("get /subscriptions/{}/", subscription(1)),
                num("--throttle-wait", 10),
                None,
            );
            run.arm.with(|e| e.throttle_spans = vec![span]);
        }
        let t = tick(run, timer, *minute, grows).await;
        if let Some(g) = growth.as_deref_mut() {
            let (seen, left) = g.seen(at(*minute), t.wall).await;
            if k > 0 {
                lags.extend(seen);
            }
            unseen = left;
        }
        eprintln!("{}", report::tick_line(timer, k, &t, uptime()));
        out.push(t);
    }
    (out, lags, unseen)
}

/// The load average now (`/proc/loadavg`'s first three).
pub(crate) fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let hosts = numbers("--hosts", "100,300", "100,300,1000");
    let counts_of_instances = numbers("--instances", "1,2", "1,2,4");
    let timers = list("--timers", "LiveSessions", "LiveSessions");
    let azurite = Azurite::from_args_in(".azurite-bench-fanout").expect("Azurite");
    let mut rows = Vec::new();
    let mut minute = 0;
    for &n in &hosts {
        let direct = azurite.fresh();
        let (cs, counts) = proxy::start(&direct).await;
        let arm = FakeArm::start(estate(n)).await;
        let env = settings(&cs, n, &arm.url);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let planner = HandlerProcess::spawn(&pairs).await;
        let conn = common::config(&[("AzureWebJobsStorage", direct.clone())]);
        let app = &conn.storage.app;
        let tables = TableRestClient::new(app, &format!("f{n}")).expect("tables");
        let mut growth = grow::Growth::new(&direct, &format!("f{n}"));
        for &p in &counts_of_instances {
            let mut started = Vec::new();
            for _ in 0..p {
                started.push(Instance::start(&env).await);
            }
            let run = Run {
                planner: &planner,
                instances: &started,
                tables: &tables,
                counts: &counts,
                arm: &arm,
            };
            for timer in &timers {
                let g = (timer == "AuditLogTail").then_some(&mut growth);
                let load = uptime();
                let (ticks, lags, unseen) = ticks_of(&run, timer, &mut minute, g, n).await;
                let row = report::row(timer, n, p, &ticks, &lags, unseen, &load);
                let measured = &ticks[1.min(ticks.len())..];
                let quiet: Vec<&Tick> = measured.iter().filter(|t| !t.grew).collect();
                for (which, of) in [("tick", measured.iter().collect()), ("quiet tick", quiet)] {
                    report::ops(timer, n, p, which, &of);
                }
                println!("{row}");
                rows.push(row);
            }
            for i in started {
                i.stop().await;
            }
        }
    }
    report::table(&rows);
}
