//! `AuditLogTail` at many Bastion hosts, on Azurite (run by `scripts/bench-tail.sh`, which builds
//! this file against this tree and against a base revision, "today", and runs both in one run; a
//! benchmark, not a timed test). Every point gets a freshly started, empty Azurite of its own
//! (`.azurite-bench-tail`), so neither contestant meets the other's data.
//!
//! - `quiet --hosts 1,20,100 --watched 1,49 [--ticks 3]` (or `--points 1x1,20x49,…`, hosts x
//!   watched): per point, `hosts` × `watched` empty hour
//!   blobs (the hours up to 2025-03-14 10:00) registered as `AuditLogCreated` registers them; one
//!   tick to settle, then `--ticks` ticks with nothing appended, each counted: storage calls per
//!   tick by operation (the app's counting clients), and per host.
//! - `lag --hosts 100 --watched 49 [--appends 25 --append-ticks 20 --ticks 120 --seed 7]`: the
//!   estate, then a tick a simulated minute (the tick's `now`) for `--ticks` minutes; before each
//!   of the first `--append-ticks`, `--appends` connect records of new sessions, each appended at
//!   a random second of that minute to a random host's hour blob: 70 % the current hour, 20 % one
//!   to six hours late, 10 % 20 to 28 hours late (a day); a host's first append in an hour after
//!   the start creates that hour's blob and registers it as `AuditLogCreated` does (counted with the
//!   ticks' calls). After each tick the `sessions` table is
//!   read (not counted): an append's lag is the simulated time from it to the tick that wrote its
//!   session row, plus that tick's wall time. Prints p50/p99/max in seconds and in ticks, the
//!   appends never seen, and the tick calls per appended record (all of them, and beyond the
//!   quiet ticks' calls measured on the same estate before the first append, printed too: the
//!   quiet point of the lag estate).
//!
//! One JSON line per point, with `--label`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the other Azurite benches, which use the rest"
)]
mod common;
mod estate;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use common::azurite::Azurite;
use common::{arg, num};
use estate::{Estate, T0, record};

fn list(name: &str, default: &str) -> Vec<usize> {
    arg(name)
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(|n| n.trim().parse().expect("a number"))
        .collect()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let label = arg("--label").unwrap_or_else(|| "this build".into());
    let mode = std::env::args()
        .skip(1)
        .find(|a| a == "quiet" || a == "lag")
        .unwrap_or_else(|| "quiet".into());
    let azurite = Azurite::from_args_in(".azurite-bench-tail").expect("Azurite");
    if mode == "quiet" {
        for (hosts, watched) in points() {
            let cs = azurite.fresh();
            quiet(&label, &cs, hosts, watched).await;
        }
    } else {
        let cs = azurite.fresh();
        lag(&label, &cs).await;
    }
}

/// The quiet points: `--points 1x1,20x49,…` (hosts x watched), else every `--hosts` with every
/// `--watched`.
fn points() -> Vec<(usize, usize)> {
    if let Some(p) = arg("--points") {
        return p
            .split(',')
            .map(|hw| {
                let (h, w) = hw.trim().split_once('x').expect("HOSTSxWATCHED");
                (h.parse().expect("hosts"), w.parse().expect("watched"))
            })
            .collect();
    }
    let watched = list("--watched", "1,49");
    list("--hosts", "1,20,100")
        .into_iter()
        .flat_map(|h| watched.iter().map(move |&w| (h, w)))
        .collect()
}

/// Calls per quiet tick, by operation.
async fn quiet_ticks(
    e: &Estate,
    now: OffsetDateTime,
    ticks: usize,
) -> (f64, BTreeMap<String, f64>) {
    let before = e.calls();
    for i in 0..ticks {
        e.tick(now + Duration::seconds(i as i64)).await;
    }
    let made = e.calls() - before;
    let per = |n: u64| n as f64 / ticks as f64;
    let by_op = made
        .line()
        .split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), per(v.parse().unwrap_or(0))))
        .collect();
    (per(made.total()), by_op)
}

async fn quiet(label: &str, cs: &str, hosts: usize, watched: usize) {
    let ticks = num("--ticks", 3);
    let started = Instant::now();
    let e = Estate::new(cs, hosts, watched).await;
    let setup = started.elapsed();
    let now = T0 + Duration::minutes(5);
    e.tick(now).await;
    let (per_tick, by_op) = quiet_ticks(&e, now, ticks).await;
    println!(
        "{}",
        json!({"label": label, "mode": "quiet", "hosts": hosts, "watched": watched,
            "calls_per_tick": per_tick, "calls_per_host": per_tick / hosts as f64,
            "by_op": by_op, "setup_s": setup.as_secs_f64()})
    );
}

/// The nearest-rank quantile `q` of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

async fn lag(label: &str, cs: &str) {
    let hosts = num("--hosts", 100);
    let watched = num("--watched", 49);
    let appends = num("--appends", 25);
    let append_ticks = num("--append-ticks", 20);
    let ticks = num("--ticks", 120).max(append_ticks + 2);
    let mut rng = Rng(num("--seed", 7_u64).max(1) | 1);
    let e = Estate::new(cs, hosts, watched).await;
    // The same estate's quiet ticks first: the baseline the appends' calls are counted beyond.
    e.tick(T0).await;
    let (quiet_per_tick, quiet_by_op) = quiet_ticks(&e, T0, 3).await;
    let before = e.calls();
    let (mut pending, mut lags, mut walls) = (BTreeMap::new(), Vec::new(), Vec::new());
    let (mut records, mut n) = (0u64, 0usize);
    let mut made = std::collections::BTreeSet::new();
    for k in 0..ticks {
        let minute = T0 + Duration::minutes(k as i64);
        if k < append_ticks {
            for _ in 0..appends {
                let at = minute + Duration::milliseconds(rng.below(60_000) as i64);
                let current = at.replace_time(time::Time::from_hms(at.hour(), 0, 0).unwrap());
                let late = match rng.below(10) {
                    0..=6 => 0,
                    7..=8 => 1 + rng.below(6),
                    _ => 20 + rng.below(9),
                };
                // The oldest watched hour at most (a small estate of the smoke runs watches few).
                let oldest = (current - T0).whole_hours() as u64 + watched as u64 - 1;
                let hour = current - Duration::hours(late.min(oldest) as i64);
                let h = rng.below(hosts as u64) as usize;
                let tunnel = format!("{n:08x}-0000-4000-8000-{:012x}", rng.below(1 << 40));
                n += 1;
                if hour > T0 && made.insert((h, hour)) {
                    // A new hour: its blob is created, and registered as `AuditLogCreated` does.
                    e.create(h, hour).await;
                }
                e.append(h, hour, record(&tunnel, at, h)).await;
                pending.insert(tunnel, at);
            }
        }
        let now = minute + Duration::minutes(1);
        let started = Instant::now();
        records += e.tick(now).await;
        let wall = started.elapsed();
        walls.push(wall.as_secs_f64());
        let seen = e.sessions().await;
        let wall = Duration::seconds_f64(wall.as_secs_f64());
        pending.retain(|tunnel, at| {
            if !seen.contains(tunnel) {
                return true;
            }
            lags.push(((now - *at) + wall).as_seconds_f64());
            false
        });
    }
    let made = e.calls() - before;
    lags.sort_by(f64::total_cmp);
    walls.sort_by(f64::total_cmp);
    let total = made.total() as f64;
    let beyond = total - quiet_per_tick * ticks as f64;
    println!(
        "{}",
        json!({"label": label, "mode": "lag", "hosts": hosts, "watched": watched,
            "appended": n, "seen": lags.len(), "unseen": pending.len(), "ticks": ticks,
            "p50_s": quantile(&lags, 0.5), "p99_s": quantile(&lags, 0.99),
            "max_s": lags.last().copied().unwrap_or(f64::NAN),
            "p50_ticks": quantile(&lags, 0.5) / 60.0, "p99_ticks": quantile(&lags, 0.99) / 60.0,
            "max_ticks": lags.last().copied().unwrap_or(f64::NAN) / 60.0,
            "tick_wall_p50_s": quantile(&walls, 0.5), "tick_wall_max_s": walls.last(),
            "records": records, "tick_calls": total, "quiet_calls_per_tick": quiet_per_tick,
            "quiet_by_op": quiet_by_op,
            "calls_per_record": total / records.max(1) as f64,
            "calls_per_record_beyond_quiet": beyond / records.max(1) as f64,
            "by_op": made.line()})
    );
}
