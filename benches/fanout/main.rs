//! The fanned-out timers at many Bastion hosts (issue 79), on Azurite, through real processes: a
//! benchmark, not a timed test. Per host count, a freshly started Azurite of the bench's own
//! (`.azurite-bench-fanout`) behind a counting proxy ([`proxy`]), the loopback fake Resource
//! Manager of the e2e tests (REST specs' shapes; each host with one live session; a fixed round
//! trip per request; optionally its token bucket, `--bucket`), and one `handler` that plans (the
//! timer's instance). Then, per instance count, that many `devhost` + `handler` pairs consuming
//! queue `workunits` ([`instances`]), and `--ticks` ticks of each timer of `--timers` after one
//! settling tick: the planner's reply's units are put on the queue (the timer's queue output), and
//! the tick ends when the table `workunits` shows each of them done (or poisoned).
//!
//! Per (timer, hosts, instances): the tick's wall time from the plan to the last unit done (p50,
//! p99, max; a timer that is not fanned out in this build is done by the plan itself, its reply);
//! storage calls per host per quiet tick by service, the queue's included (every process's, the
//! devhosts' idle polls during the tick too); Resource Manager requests per host per tick and the
//! answers that were 429. One JSON line each, then a table.
//!
//! ```sh
//! scripts/bench-fanout.sh [--quick] [-- --hosts 100,300,1000 --instances 1,2,4 --ticks 5
//!   --timers LiveSessions --sessions 1 --latency-ms 100 --retry-after 1 --bucket 0 --refill 25]
//! ```
//! `--quick`: 100 and 300 hosts on 1 and 2 instances, 3 ticks.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
#[allow(dead_code, reason = "shared with the other Azurite benches")]
mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/estate/fake_arm.rs"]
mod fake_arm;
#[path = "../../tests/e2e/harness.rs"]
mod harness;
mod instances;
mod proxy;

use std::time::{Duration, Instant};

use bastion_recordings::tables::filter::Op;
use bastion_recordings::tables::ops::query_all;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Filter, get_str};
use futures::StreamExt as _;
use serde_json::{Value, json};

use common::azurite::Azurite;
use common::{arg, flag, num};
use fake_arm::{Bucket, Estate, FakeArm, account_id, host_id};
use harness::{HandlerProcess, fixture, queue_outputs};
use instances::Instance;

/// The Azurite account: it holds the recordings and the audit logs of every host.
const ACCOUNT: &str = "devstoreaccount1";

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

/// `n` healthy hosts recording into the one account, each with `--sessions` live sessions (1).
fn estate(n: usize) -> Estate {
    let mut e = Estate {
        latency: Duration::from_millis(num("--latency-ms", 100)),
        lro: fake_arm::lro::Lro::Network,
        lro_polls: 1,
        retry_after: num("--retry-after", 1),
        ..Estate::default()
    };
    let bucket: u32 = num("--bucket", 0);
    if bucket > 0 {
        e.bucket = Some(Bucket::new(bucket, num("--refill", 25)));
    }
    for i in 0..n {
        let name = format!("bas-{i:04}");
        e.add_healthy(&name, ACCOUNT, "recordings", ACCOUNT);
        let live = (0..num("--sessions", 1)).map(|k: usize| {
            json!({"sessionId": format!("s-{i}-{k}"),
            "startTime": "2026-11-25T12:00:00.0000Z", "resourceType": "VM",
            "targetHostName": "vm-app-01", "userName": "azureuser", "protocol": "SSH",
            "targetIpAddress": "10.10.1.4", "sessionDurationInMins": 1.0})
        });
        e.sessions
            .insert(host_id(&name).to_ascii_lowercase(), live.collect());
    }
    e
}

fn settings(cs: &str, n: usize, arm: &str) -> Vec<(String, String)> {
    let hosts: Vec<String> = (0..n).map(|i| host_id(&format!("bas-{i:04}"))).collect();
    [
        ("AzureWebJobsStorage", cs.to_owned()),
        (
            "RECORDINGS_SOURCES",
            "AzureWebJobsStorage:recordings".into(),
        ),
        ("AUDITLOGS_SOURCES", "AzureWebJobsStorage:auditlogs".into()),
        ("RECORDINGS_ACCOUNT_IDS", account_id(ACCOUNT)),
        ("BASTION_HOSTS", hosts.join(",")),
        ("ARM_ENDPOINT", arm.to_owned()),
        ("CATALOGUE_AUTH", "none".into()),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".into()),
        ("TABLE_PREFIX", format!("f{n}")),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec()
}

/// Nearest-rank quantile of `v` (sorted here).
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1));
    s.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// Waits until every unit of `period` of `timer` is done or poisoned on table `workunits`, looking
/// once a second (up to a second late: ticks take tens of seconds) at that period's rows only, so
/// the bench's own reads load the emulator little.
async fn settled(tables: &TableRestClient, timer: &str, period: &str, units: usize) {
    let give_up = Instant::now() + Duration::from_secs(num("--unit-timeout-s", 1800));
    loop {
        let of_period = Filter::And(vec![
            Filter::partition(timer),
            Filter::str("Period", Op::Eq, period),
        ]);
        let rows = query_all(tables, "workunits", &of_period, 20_000)
            .await
            .unwrap_or_default();
        let ended = rows
            .iter()
            .filter(|r| get_str(&r.entity, "Period") == Some(period))
            .filter(|r| matches!(get_str(&r.entity, "State"), Some("done" | "poisoned")))
            .count();
        if ended >= units {
            return;
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
struct Tick {
    wall: f64,
    units: usize,
    /// Storage calls by service (blob, queue, table).
    calls: [u64; 3],
    /// Of the queue calls, those on the work queue (the rest: other queues' idle polls).
    work_queue: u64,
    requests: usize,
    throttled: usize,
    /// Storage calls by operation ([`proxy::Counts::ops`]).
    ops: std::collections::BTreeMap<String, u64>,
}

/// One tick of the planner's timer at minute `minute`, its units through the queue.
async fn tick(run: &Run<'_>, timer: &str, minute: i64) -> Tick {
    let mut inv = fixture("invocations/timer.invocation.json");
    let at = time::macros::datetime!(2026-11-25 12:00 UTC) + time::Duration::minutes(minute);
    inv["Metadata"]["sys"]["MethodName"] = json!(timer);
    inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc_millis(at));
    let (calls, arm) = (
        run.counts.now(),
        run.arm.with(|e| (e.requests.len(), e.throttled)),
    );
    let queued = work_queue(run.counts);
    let ops = run.counts.ops();
    let t = Instant::now();
    let (status, reply) = run.planner.invoke_plan(timer, &inv).await;
    assert_eq!(status, 200, "{timer}: {reply}");
    let units = queue_outputs(&reply, "workunits");
    let http = reqwest::Client::new();
    futures::stream::iter(units.iter().enumerate())
        .for_each_concurrent(32, |(i, u)| {
            run.instances[i % run.instances.len()].enqueue(&http, u)
        })
        .await;
    if let Some(period) = units.first().and_then(|u| u["period"].as_str()) {
        settled(run.tables, timer, period, units.len()).await;
    }
    let wall = t.elapsed().as_secs_f64();
    let after = run.counts.now();
    let (requests, throttled) = run.arm.with(|e| (e.requests.len(), e.throttled));
    Tick {
        wall,
        units: units.len(),
        calls: [0, 1, 2].map(|i| after[i] - calls[i]),
        work_queue: work_queue(run.counts) - queued,
        requests: requests - arm.0,
        throttled: throttled - arm.1,
        ops: (run.counts.ops().into_iter())
            .map(|(k, v)| (v - ops.get(&k).copied().unwrap_or(0), k))
            .filter(|(v, _)| *v > 0)
            .map(|(v, k)| (k, v))
            .collect(),
    }
}

struct Run<'a> {
    planner: &'a HandlerProcess,
    instances: &'a [Instance],
    tables: &'a TableRestClient,
    counts: &'a proxy::Counts,
    arm: &'a FakeArm,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let hosts = numbers("--hosts", "100,300", "100,300,1000");
    let counts_of_instances = numbers("--instances", "1,2", "1,2,4");
    let timers = list("--timers", "LiveSessions", "LiveSessions");
    let ticks: usize = num("--ticks", if flag("--quick") { 3 } else { 5 });
    let azurite = Azurite::from_args_in(".azurite-bench-fanout").expect("Azurite");
    let mut rows: Vec<Value> = Vec::new();
    let mut minute = 0;
    for &n in &hosts {
        let direct = azurite.fresh();
        let (cs, counts) = proxy::start(&direct).await;
        let arm = FakeArm::start(estate(n)).await;
        let env = settings(&cs, n, &arm.url);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let planner = HandlerProcess::spawn(&pairs).await;
        let conn = common::config(&[("AzureWebJobsStorage", direct.clone())]);
        let bastion_recordings::config::Storage::Connected { app } = &conn.storage else {
            panic!("a connection")
        };
        let tables = TableRestClient::new(app, &format!("f{n}")).expect("tables");
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
                minute += 1;
                let first = tick(&run, timer, minute).await;
                eprintln!(
                    "{timer} {n} hosts, {p} instance(s): settling tick {:.1} s, {} units",
                    first.wall, first.units
                );
                let mut walls = Vec::new();
                let (mut calls, mut queued, mut requests, mut throttled) = ([0u64; 3], 0, 0, 0);
                let mut ops = std::collections::BTreeMap::<String, u64>::new();
                for _ in 0..ticks {
                    minute += 1;
                    let t = tick(&run, timer, minute).await;
                    eprintln!(
                        "  tick {:.1} s, {} units, calls {:?} ({} on the work queue), {} ARM requests, {} x 429",
                        t.wall, t.units, t.calls, t.work_queue, t.requests, t.throttled
                    );
                    walls.push(t.wall);
                    (0..3).for_each(|i| calls[i] += t.calls[i]);
                    queued += t.work_queue;
                    t.ops
                        .iter()
                        .for_each(|(k, v)| *ops.entry(k.clone()).or_default() += v);
                    (requests, throttled) = (requests + t.requests, throttled + t.throttled);
                }
                let per_host = |x: u64| x as f64 / (n * ticks) as f64;
                for (op, v) in &ops {
                    eprintln!(
                        "  {timer} {n} hosts, {p} instance(s): {:.3} per host per tick: {op}",
                        per_host(*v)
                    );
                }
                let row = json!({"timer": timer, "hosts": n, "instances": p, "ticks": ticks,
                    "wall_p50_s": quantile(&walls, 0.5), "wall_p99_s": quantile(&walls, 0.99),
                    "wall_max_s": quantile(&walls, 1.0), "first_tick_s": first.wall,
                    "storage_per_host": per_host(calls.iter().sum()),
                    "blob_per_host": per_host(calls[0]), "queue_per_host": per_host(calls[1]),
                    "table_per_host": per_host(calls[2]),
                    "work_queue_per_host": per_host(queued),
                    "without_other_queues_per_host": per_host(calls[0] + queued + calls[2]),
                    "arm_per_host": per_host(requests as u64), "throttled": throttled});
                println!("{row}");
                rows.push(row);
            }
            for i in started {
                i.stop().await;
            }
        }
    }
    println!(
        "\n| timer | hosts | instances | tick p50 | p99 | max | storage calls per host per quiet tick (blob, queue, table) | of them on the work queue | without the other queues' idle polls | ARM requests per host | 429s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.1} s | {:.1} s | {:.1} s | {:.2} ({:.2}, {:.2}, {:.2}) | {:.2} | {:.2} | {:.2} | {} |",
            r["timer"].as_str().unwrap_or_default(),
            r["hosts"],
            r["instances"],
            r["wall_p50_s"].as_f64().unwrap_or_default(),
            r["wall_p99_s"].as_f64().unwrap_or_default(),
            r["wall_max_s"].as_f64().unwrap_or_default(),
            r["storage_per_host"].as_f64().unwrap_or_default(),
            r["blob_per_host"].as_f64().unwrap_or_default(),
            r["queue_per_host"].as_f64().unwrap_or_default(),
            r["table_per_host"].as_f64().unwrap_or_default(),
            r["work_queue_per_host"].as_f64().unwrap_or_default(),
            r["without_other_queues_per_host"]
                .as_f64()
                .unwrap_or_default(),
            r["arm_per_host"].as_f64().unwrap_or_default(),
            r["throttled"]
        );
    }
}
