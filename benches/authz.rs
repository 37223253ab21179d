//! The authorization pass at many hosts and sessions a day, in memory against the
//! loopback fake Resource Manager of the e2e tests (PIM's schedule lists in the shapes of the
//! authorization specification's examples): a benchmark, not a timed test.
//!
//! The estate: `--hosts` Bastion hosts, two VMs each spread over `--subscriptions`
//! subscriptions, `--rate` successful sessions a day by `--rate / 20` people (20 sessions a person
//! a day, each person in one subscription), `--history-days` days of day rows before the first tick
//! (the first pass reads the longer of 7 days and `SHARED_ACCOUNT_DAYS` = `--shared-days` once,
//! later passes what [`authorization::select`] chooses). `--pim` percent of the sessions are
//! drawn as covered by a PIM activation of their person at their VM's subscription (8 hours,
//! starting up to an hour before the session; one activation covers the person's later sessions
//! there until it ends); a tenth of those activations arrive late, up to a tick after
//! the session started (the instance list shows an activation from its arrival until its end,
//! as Resource Manager does: expired instances leave it). The rest are `none`.
//!
//! With the history decided (`--history-decided 1`), the kept evidence is seeded as a running
//! deployment's earlier passes left it: each activation a pass every 15 minutes before the first
//! would have listed, in `authzwindows`.
//!
//! Then `--ticks` passes 15 minutes apart (`EstateCheck`'s period, whose step the pass is), the
//! sessions of each period written before its pass. Per pass: Resource Manager calls per
//! subscription, `AuditLogs` queries per workspace (an empty answer, counted), table calls, day
//! rows read, and its CPU and wall time; over the run, the verdict's lag p99
//! in ticks: from the later of a session's start and its evidence's arrival to the end of the
//! pass that first gave it its right verdict.
//!
//! Usage: `cargo bench --profile dev --bench authz -- [--hosts 1000] [--rate 100000]
//! [--history-days 30] [--shared-days 30] [--subscriptions 10] [--workspaces 1] [--pim 70]
//! [--ticks 6] [--latency-ms 0] [--page-size 0] [--history-decided 1] [--passes-per-tick 1]
//! [--instances 1] [--start-hour 12] [--entra-share 0]` (`--page-size`: items a list page; 0, all in one: Resource Manager's page
//! size for these lists is not documented; `--history-decided 0`: the history's rows undecided,
//! as before a first pass ever; `--passes-per-tick N`: N passes evenly within each 15 minutes;
//! `--instances N`: each pass run by N instances at once on the same tables, each its own task; `--start-hour 23`:
//! the first pass at 23:00, so the passes cross midnight and the day's first sweeps, `"sweep"`).
//!
//! `--entra-share S` (0 to 50; 0, the default, draws and measures what it always did): S percent
//! of people sign in with their UPN (Entra ID) instead of `azureuser`; of the activations, S
//! percent are of Virtual Machine User Login at the subscription (its definition listed with the
//! login data action only) and S percent of Reader at the virtual network of the VM they were
//! drawn for (four networks a subscription, every VM's given in `Doors::networks`), the rest
//! Contributor. The truth follows the decider's rules: VM User Login counts only for a UPN on a VM
//! with the Entra ID login extension, a network's Reader only on a VM in that network. The run
//! ends with the sessions counted by that case (never right, last verdict unknown or wrong).
//!
//! Resource Manager requests are told apart: PIM's two lists and the subscriptions' VM lists that
//! the shared accounts ask (every VM account used by two people: its subscription's VMs once a day;
//! every person signs in as `azureuser` unless `--entra-share`, so every busy VM is shared; every
//! fourth VM has the Entra ID login extension; a UPN session a kept role could cover makes its VM
//! due too). The run ends with the shared VMs' Entra ID login as told. The budget, two calls a watched
//! subscription in any 5 minutes, is checked as the most calls of one subscription in any
//! 5-minute window of the run (each call at its own time: its pass's, plus the wall time into the
//! pass when the fake answered it, as the budget now counts it), not as an average.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
#[allow(dead_code, reason = "shared with the Azurite benches")]
mod common;
#[path = "authz/estate.rs"]
mod estate;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/e2e/estate/fake_arm.rs"]
mod fake_arm;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bastion_recordings::arm::MAX_IN_FLIGHT;
use bastion_recordings::arm::client::ArmClient;
use bastion_recordings::authorization::decide::Verdict;
use bastion_recordings::authorization::read::Doors;
use bastion_recordings::authorization::settings::{AuthzSettings, Enforce};
use bastion_recordings::authorization::{self, Sources};
use bastion_recordings::azure::http::{Auth, Client};
use bastion_recordings::azure::{AzureError, Policy, Timeouts};
use bastion_recordings::catalogue::days::DAYS_TABLE;
use bastion_recordings::clock::Clock;
use bastion_recordings::dates::format_utc_millis;
use bastion_recordings::loganalytics::{Answer, LogsQuery};
use bastion_recordings::ports::Ports;
use bastion_recordings::sources::{Source, Sources as BlobSources};
use bastion_recordings::tables::{TableStore as _, WriteMode};
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::memory::InMemoryTables;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use estate::{
    Args, Held, Planned, Rng, VM_USER_LOGIN, VNETS, Window, counts, instance, session, vnet,
};
use fake_arm::{Estate, FakeArm};

const TICK: time::Duration = time::Duration::minutes(15);
/// The first pass's time: 2026-11-25 at `--start-hour` (12 by default; 23 makes a run of 5
/// ticks or more cross midnight, where the day's first pass sweeps the 7 days).
fn t0() -> OffsetDateTime {
    let hour = arg("--start-hour", 12).min(23) as i64;
    datetime!(2026-11-25 00:00 UTC) + time::Duration::hours(hour)
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name);
    at.and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Log Analytics answering every query with no PIM row, only the `AuditLogs` table's counting row
/// (no row counted, held since the timespan's start: a workspace holding Entra's audit logs for
/// longer than asked), counting the queries per workspace.
#[derive(Default)]
struct Logs(std::sync::Mutex<HashMap<String, usize>>, AtomicUsize);

#[async_trait]
impl LogsQuery for Logs {
    async fn query(&self, w: &str, _: &str, span: &str, _: Duration) -> Result<Answer, AzureError> {
        *self.0.lock().unwrap().entry(w.to_owned()).or_default() += 1;
        self.1.fetch_add(1, Ordering::Relaxed);
        let since = span.split('/').next().unwrap_or_default();
        let body = json!({"tables": [{"name": "PrimaryResult",
            "columns": [{"name": "Type", "type": "string"}, {"name": "AuditRows", "type": "long"},
                {"name": "AuditSince", "type": "datetime"}],
            "rows": [["AuditLogsRead", 0, since]]}]});
        Ok(Answer::from_bytes(body.to_string()))
    }
}

/// The pass's time moving with the wall clock from the moment it started (a Resource Manager
/// call's budget is taken at the time it is made).
#[derive(Default)]
struct PassClock(std::sync::Mutex<Option<(OffsetDateTime, Instant)>>);

impl PassClock {
    fn start(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap() = Some((at, Instant::now()));
    }

    /// The wall-clock moment the pass started.
    fn started(&self) -> Instant {
        self.0.lock().unwrap().map_or_else(Instant::now, |(_, t)| t)
    }
}

impl Clock for PassClock {
    fn now(&self) -> OffsetDateTime {
        let (at, t) = self.0.lock().unwrap().unwrap_or((t0(), Instant::now()));
        at + time::Duration::try_from(t.elapsed()).unwrap_or_default()
    }
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1));
    s.get(rank - 1).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let a = Args {
        hosts: arg("--hosts", 1000),
        rate: arg("--rate", 100_000),
        subscriptions: arg("--subscriptions", 10),
        pim: arg("--pim", 70),
        entra: arg("--entra-share", 0).min(50),
    };
    let (history, ticks) = (arg("--history-days", 30), arg("--ticks", 6));
    let workspaces: Vec<String> = (0..arg("--workspaces", 1))
        .map(|w| format!("ws-{w}"))
        .collect();
    #[allow(non_snake_case)]
    let T0 = t0();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut kinds = Rng(0x2545_f491_4f6c_dd1d);
    let per_tick = (a.rate / 96).max(1);
    // History before T0, then each tick's period.
    let seeded = history * a.rate;
    let span = (history as i64) * 86_400;
    let mut all: Vec<Planned> = (0..seeded)
        .map(|i| {
            let at = T0 - time::Duration::seconds(1 + rng.below(span as u64) as i64);
            session(i, at, &mut rng, &mut kinds, &a)
        })
        .collect();
    for t in 0..ticks {
        for k in 0..per_tick {
            let at = T0 + TICK * t as i32 + time::Duration::seconds(rng.below(900) as i64);
            all.push(session(
                seeded + t * per_tick + k,
                at,
                &mut rng,
                &mut kinds,
                &a,
            ));
        }
    }
    // Every VM a session reaches is in its subscription's VM list; every fourth has the Entra ID
    // login extension.
    let vms: BTreeSet<String> = (all.iter())
        .map(|p| p.row.target_resource_id.to_ascii_lowercase())
        .collect();
    let entra_vms: BTreeSet<String> = (vms.iter().enumerate())
        .filter(|(k, _)| k % 4 == 0)
        .map(|(_, vm)| vm.clone())
        .collect();
    // One activation covers a person's later sessions in its subscription until it ends, where
    // its role counts for them: a session drawn as PIM-covered that an earlier activation covers
    // so adds none.
    all.sort_by_key(|p| p.row.start);
    let mut until: HashMap<String, Vec<(OffsetDateTime, Held)>> = HashMap::new();
    for p in &mut all {
        let key = format!("{} {}", p.row.user_email, p.row.subscription);
        let held = until.get(&key).into_iter().flatten();
        let covered = held
            .filter(|(u, _)| *u >= p.row.start)
            .any(|(_, h)| counts(*h, p, &entra_vms, &a));
        match p.activation {
            Some(_) if covered => p.activation = None,
            Some((_, _, end)) => until.entry(key).or_default().push((end, p.held)),
            None => {}
        }
    }
    let tables = Arc::new(InMemoryTables::new().without_interleaving());
    tables.ensure_table(DAYS_TABLE).await.unwrap();
    let kept = authorization::store::WINDOWS_TABLE;
    tables.ensure_table(kept).await.unwrap();

    let fake = FakeArm::start(Estate {
        latency: Duration::from_millis(arg("--latency-ms", 0)),
        page_size: arg("--page-size", 0) as usize,
        ..Estate::default()
    })
    .await;
    fake.with(|e| {
        for vm in vms {
            match entra_vms.contains(&vm) {
                true => e
                    .extensions
                    .push(format!("{vm}/extensions/aadsshloginforlinux")),
                false => e.listed_vms.push(vm),
            }
        }
        // Virtual Machine User Login as its subscriptions' definitions list gives it (the login
        // data action only, as the brief's role: the built-in one also reads the network).
        if a.entra > 0 {
            let login = "Microsoft.Compute/virtualMachines/login/action".to_owned();
            e.definitions.insert(VM_USER_LOGIN.to_owned(), vec![login]);
        }
    });
    let http = Client::new(
        "arm",
        Some(&fake.url.parse().unwrap()),
        Auth::None,
        Timeouts::CONTROL,
        Policy::CONTROL,
    )
    .unwrap();
    let arm = Arc::new(ArmClient::new(http.paced(MAX_IN_FLIGHT, None), &fake.url).unwrap());
    let logs = Arc::new(Logs::default());
    let recordings = Source::new(Arc::new(InMemoryBlobStore::new("strec")), "recordings");
    let audit = Source::new(
        Arc::new(InMemoryBlobStore::new("stlogs")),
        "insights-logs-bastionauditlogs",
    );
    let clock = Arc::new(PassClock::default());
    let ports = Ports {
        tables: tables.clone(),
        sources: Arc::new(BlobSources::new(vec![recordings], vec![audit]).unwrap()),
        clock: clock.clone(),
        outbox: bastion_recordings::export::Outbox::off(),
    };
    let settings = AuthzSettings {
        ticket_pattern: None,
        shared_days: arg("--shared-days", 30) as i64,
        enforce: Enforce::Report,
        grace: time::Duration::minutes(15),
        pim_groups: false,
        signin_mfa: false,
    };
    // What each instance's task owns (a task of its own, as each instance is its own host).
    // With `--entra-share`, the doors' pass read every VM's network.
    let mut doors = Doors::default();
    if a.entra > 0 {
        for p in &all {
            let n = (p.vm / a.subscriptions) % VNETS;
            let vm = p.row.target_resource_id.to_ascii_lowercase();
            let of = doors.networks.of.entry(vm).or_default();
            of.insert(vnet(&p.row.subscription, n));
        }
    }
    let shared = Arc::new((doors, workspaces.clone(), settings.clone()));
    println!(
        "{} hosts, {} sessions a day ({per_tick} a tick), {history} days of history ({seeded} rows), {} subscriptions, {} workspace(s), {}% PIM, {}% Entra",
        a.hosts,
        a.rate,
        a.subscriptions,
        workspaces.len(),
        a.pim,
        a.entra
    );
    // The truth: a session is covered when an activation of its person at its subscription covers
    // its start (the 5 minutes' skew either side) with a role that counts for it ([`counts`]); its
    // evidence arrives with the first such activation. Each session is also told by what covers
    // it (`case`: the first counting role's, else a role in time that does not count, else none).
    let mut windows: HashMap<(&str, &str), Vec<(Window, Held)>> = HashMap::new();
    for p in &all {
        if let Some(w) = p.activation {
            let key = (p.row.user_email.as_str(), p.row.subscription.as_str());
            windows.entry(key).or_default().push((w, p.held));
        }
    }
    let skew = time::Duration::minutes(5);
    let mut case: HashMap<&str, &str> = HashMap::new();
    let truth: HashMap<&str, Option<OffsetDateTime>> = all
        .iter()
        .map(|p| {
            let key = (p.row.user_email.as_str(), p.row.subscription.as_str());
            let covering: Vec<_> = (windows.get(&key).into_iter().flatten())
                .filter(|((_, from, until), _)| {
                    *from - skew <= p.row.start && p.row.start <= *until + skew
                })
                .collect();
            let counting = covering
                .iter()
                .filter(|(_, h)| counts(*h, p, &entra_vms, &a));
            let first = counting.min_by_key(|((arrival, _, _), _)| *arrival);
            let arrival = first.map(|((arrival, _, _), _)| *arrival);
            let by = first
                .map(|(_, h)| *h)
                .or_else(|| covering.first().map(|(_, h)| *h));
            let named = match (by, first.is_some()) {
                (None, _) => "none",
                (Some(Held::Contributor), _) => "Contributor at the subscription",
                (Some(Held::VmLogin), true) => "VM User Login, Entra sign-in",
                (Some(Held::VmLogin), false) => "VM User Login, no Entra sign-in (none)",
                (Some(Held::VnetReader(_)), true) => "Reader at the VM's network",
                (Some(Held::VnetReader(_)), false) => "Reader at another network (none)",
            };
            case.insert(p.row.tunnel_id.as_str(), named);
            (p.row.tunnel_id.as_str(), arrival)
        })
        .collect();
    // History as a running deployment left it: each row with the verdict its evidence gave
    // (`--history-decided 0`: undecided, as before the first pass ever).
    let decided = arg("--history-decided", 1) == 1;
    let t = Instant::now();
    for p in all.iter().filter(|p| p.row.start < T0) {
        let mut row = p.row.clone();
        if decided {
            let at = truth.get(row.tunnel_id.as_str()).copied().flatten();
            let pim = at.is_some_and(|a| a < T0);
            row.authorization = (if pim { "pim" } else { "none" }).into();
        }
        tables
            .write(DAYS_TABLE, &row.to_entity(), WriteMode::Upsert)
            .await
            .unwrap();
    }
    // The kept evidence those verdicts came from: each activation an earlier pass (every 15
    // minutes before T0) found in its list, as that pass kept it (`authzwindows`). Without it, an
    // activation that ended in the last tick before T0 (so the first pass's list no longer shows
    // it) covered a session of the first tick only by the 5 minutes' skew, and no source showed it.
    if decided {
        let seen: Vec<_> = (all.iter().enumerate())
            .filter(|(_, p)| {
                p.activation.is_some_and(|(arrival, _, until)| {
                    // The last earlier pass before the window's end.
                    let ticks = ((T0 - until.min(T0)) / TICK).floor() as i32 + 1;
                    arrival <= T0 - TICK * ticks
                })
            })
            .map(|(n, p)| {
                let i = serde_json::from_value(instance(n, p)).unwrap();
                authorization::evidence::of_instance(&i, &p.row.subscription)
            })
            .collect();
        let none = authorization::store::Kept::default();
        authorization::store::keep(tables.as_ref(), &none, &seen, T0 - TICK)
            .await
            .unwrap();
        eprintln!("{} activations kept by earlier passes", seen.len());
    }
    eprintln!(
        "{seeded} day rows seeded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Right verdict first given (tunnel -> end of that pass).
    let mut right: HashMap<String, OffsetDateTime> = HashMap::new();
    let mut passes = Vec::new();
    let mut last_verdict: HashMap<String, Verdict> = HashMap::new();
    let (per_pass, instances) = (
        arg("--passes-per-tick", 1).max(1),
        arg("--instances", 1).max(1),
    );
    let mut arm_at: HashMap<String, Vec<OffsetDateTime>> = HashMap::new();
    for tick in 0..=ticks {
        let now = T0 + TICK * tick as i32;
        // This period's sessions arrive; the instance list shows what is active and arrived.
        for p in all
            .iter()
            .filter(|p| p.row.start >= now - TICK && p.row.start < now && tick > 0)
        {
            tables
                .write(DAYS_TABLE, &p.row.to_entity(), WriteMode::Upsert)
                .await
                .unwrap();
        }
        let mut lists: HashMap<String, (Vec<Value>, Vec<Value>)> = HashMap::new();
        for (n, p) in all.iter().enumerate() {
            if let Some((arrival, _, until)) = p.activation
                && arrival <= now
                && until > now
            {
                let key = format!("/subscriptions/{}", p.row.subscription);
                lists.entry(key).or_default().0.push(instance(n, p));
            }
        }
        let listed: usize = lists.values().map(|l| l.0.len()).sum();
        fake.with(|e| e.schedules = lists);
        // `--passes-per-tick` passes evenly within the tick, each run by `--instances` instances
        // at once on the same tables (a unit delivered twice, or asked by hand).
        for k in 0..per_pass {
            let at = now + TICK * k as i32 / per_pass as i32;
            let (calls, arm_before, queries) = (
                tables.calls(),
                fake.with(|e| e.requests.len()),
                logs.1.load(Ordering::Relaxed),
            );
            let (t, cpu) = (Instant::now(), common::cpu_time(std::process::id()));
            clock.start(at);
            let runs = (0..instances).map(|_| {
                let (arm, logs, ports, shared) =
                    (arm.clone(), logs.clone(), ports.clone(), shared.clone());
                tokio::spawn(async move {
                    let (doors, workspaces, settings) = shared.as_ref();
                    let sources = Sources {
                        arm: Some(arm.as_ref()),
                        logs: Some(logs.as_ref()),
                        workspaces,
                        doors,
                        groups: None,
                        signin_mfa: false,
                    };
                    let every = BTreeSet::new();
                    authorization::run(&ports, &sources, &every, settings, at).await
                })
            });
            let reports: Vec<authorization::Report> = (futures::future::join_all(runs).await)
                .into_iter()
                .map(|r| r.expect("an instance's task"))
                .collect();
            let wall = t.elapsed();
            let cpu = common::cpu_time(std::process::id())
                .zip(cpu)
                .map_or(f64::NAN, |(after, before)| (after - before).as_secs_f64());
            let done = at + time::Duration::try_from(wall).unwrap();
            let started = clock.started();
            let mut by_subscription: std::collections::BTreeMap<String, usize> =
                std::collections::BTreeMap::new();
            let (requests, schedules) = fake.with(|e| {
                let new = &e.requests[arm_before..];
                for (r, when) in new.iter().zip(&e.answered_at[arm_before..]) {
                    let sub = r.to_ascii_lowercase();
                    let sub = sub.split("/subscriptions/").nth(1).unwrap_or_default();
                    let sub = sub.split('/').next().unwrap_or_default().to_owned();
                    // The call's own time: its pass's, plus the wall time into the pass.
                    let into = when.saturating_duration_since(started);
                    let into = time::Duration::try_from(into).unwrap_or_default();
                    *by_subscription
                        .entry(sub[sub.len().saturating_sub(2)..].to_owned())
                        .or_default() += 1;
                    arm_at.entry(sub).or_default().push(at + into);
                }
                let pim = new
                    .iter()
                    .filter(|r| r.to_ascii_lowercase().contains("roleassignmentschedule"));
                let roles = (new.iter())
                    .filter(|r| r.to_ascii_lowercase().contains("/roledefinitions"))
                    .count();
                (new.len(), (pim.count(), roles))
            });
            let (schedules, roles) = schedules;
            for report in &reports {
                for (tunnel, record) in &report.decided {
                    last_verdict.insert(tunnel.clone(), record.verdict);
                    let covered = truth.get(tunnel.as_str()).copied().flatten().is_some();
                    let verdict = if covered { Verdict::Pim } else { Verdict::None };
                    if record.verdict == verdict {
                        right.entry(tunnel.clone()).or_insert(done);
                    }
                }
            }
            let sum = |f: fn(&authorization::Report) -> usize| reports.iter().map(f).sum::<usize>();
            // The day's first pass sweeps the 7 days for undecided rows written late.
            let sweep = at.date() != (at - TICK / per_pass as i32).date();
            let line = json!({"tick": tick, "at": format_utc_millis(at), "sweep": sweep,
                "decided": sum(|r| r.decided.len()), "deferred": sum(|r| r.deferred),
                "unknown": sum(|r| r.decided.iter().filter(|(_, d)| d.verdict == Verdict::Unknown).count()),
                "changed": sum(|r| r.changed), "failed": sum(|r| r.failed.len()),
                "wall_s": wall.as_secs_f64(), "cpu_s": cpu,
                "arm_requests": requests, "pim_per_subscription": schedules as f64 / a.subscriptions as f64,
                "vm_list_reads": requests - schedules - roles, "definition_reads": roles,
                "arm_by_subscription": by_subscription,
                "arm_per_subscription": requests as f64 / a.subscriptions as f64,
                "rows_read": sum(|r| r.rows_read), "windows_read": sum(|r| r.windows_read),
                "instances_listed": listed, "queries": logs.1.load(Ordering::Relaxed) - queries,
                "table_calls": tables.calls() - calls});
            println!("{line}");
            passes.push(line);
        }
    }
    // The budget: the most Resource Manager calls of one subscription in any 5 minutes (a
    // window starting at each call), over the whole run.
    let window = time::Duration::minutes(5);
    let most = arm_at
        .values()
        .flat_map(|at| {
            at.iter()
                .map(|t| at.iter().filter(|u| **u >= *t && **u < *t + window).count())
        })
        .max()
        .unwrap_or(0);
    let total: usize = arm_at.values().map(Vec::len).sum();
    let count_of = |k: &str| passes.iter().filter_map(|p| p[k].as_u64()).sum::<u64>();
    println!(
        "Resource Manager calls: {total} over {} subscriptions ({} VM lists, {} definitions lists); most of one subscription in any 5 minutes: {most}",
        arm_at.len(),
        count_of("vm_list_reads"),
        count_of("definition_reads")
    );
    // The shared VMs' Entra ID login as the run left it (`unknown` or never read: not told).
    let accounts = authorization::shared_store::load(tables.as_ref())
        .await
        .unwrap();
    let mut entra: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for ((vm, _), acc) in accounts.iter().filter(|(_, acc)| acc.people.len() >= 2) {
        let told = acc.entra.split(':').next().unwrap_or_default();
        entra.insert(
            vm.clone(),
            if told.is_empty() { "unread" } else { told }.to_owned(),
        );
    }
    let count = |k: &str| entra.values().filter(|v| *v == k).count();
    println!(
        "shared VMs: {}; Entra login present {}, absent {}, unknown {}, unread {}",
        entra.len(),
        count("present"),
        count("absent"),
        count("unknown"),
        count("unread")
    );
    // Sessions whose evidence arrived before the last pass (a later one is not the run's to judge).
    let last = T0 + TICK * ticks as i32;
    let lags: Vec<f64> = all
        .iter()
        .filter(|p| p.row.start >= T0)
        .filter(|p| {
            let arrival = truth.get(p.row.tunnel_id.as_str()).copied().flatten();
            arrival.is_none_or(|a| a <= last)
        })
        .map(|p| {
            let arrival = truth.get(p.row.tunnel_id.as_str()).copied().flatten();
            let from = arrival.map_or(p.row.start, |a| a.max(p.row.start));
            right.get(&p.row.tunnel_id).map_or(f64::INFINITY, |d| {
                (*d - from).as_seconds_f64() / TICK.as_seconds_f64()
            })
        })
        .collect();
    // The sessions never given their right verdict, with the last one given (none: not decided).
    for p in all.iter().filter(|p| p.row.start >= T0) {
        let arrival = truth.get(p.row.tunnel_id.as_str()).copied().flatten();
        if arrival.is_none_or(|a| a <= last) && !right.contains_key(&p.row.tunnel_id) {
            let given = last_verdict.get(&p.row.tunnel_id);
            println!(
                "never right: {} {} start {} evidence {:?} given {given:?}",
                p.row.tunnel_id, p.row.user_email, p.row.start, arrival
            );
        }
    }
    println!(
        "verdict lag in ticks of 15 min over {} sessions: p50 {:.2}, p99 {:.2}, max {:.2}; never right: {}",
        lags.len(),
        quantile(&lags, 0.5),
        quantile(&lags, 0.99),
        quantile(&lags, 1.0),
        lags.iter().filter(|l| l.is_infinite()).count()
    );
    // The sessions since the first pass by what covers them (the truth's case): how many, how
    // many never given their right verdict, and their last verdict given (`unknown` counted apart;
    // a session whose evidence arrives after the last pass is not counted).
    let mut cases: std::collections::BTreeMap<&str, [usize; 4]> = std::collections::BTreeMap::new();
    for p in all.iter().filter(|p| p.row.start >= T0) {
        let arrival = truth.get(p.row.tunnel_id.as_str()).copied().flatten();
        if arrival.is_some_and(|a| a > last) {
            continue;
        }
        let c = cases.entry(case[p.row.tunnel_id.as_str()]).or_default();
        let given = last_verdict.get(&p.row.tunnel_id);
        let verdict = if arrival.is_some() {
            Verdict::Pim
        } else {
            Verdict::None
        };
        c[0] += 1;
        c[1] += usize::from(!right.contains_key(&p.row.tunnel_id));
        c[2] += usize::from(given == Some(&Verdict::Unknown));
        c[3] += usize::from(given.is_some_and(|g| *g != verdict && *g != Verdict::Unknown));
    }
    for (name, [n, never, unknown, wrong]) in &cases {
        println!(
            "  {name}: {n} sessions, never right {never}, last verdict unknown {unknown}, last verdict wrong {wrong}"
        );
    }
    let of = |k: &str| -> Vec<f64> { passes[1..].iter().filter_map(|p| p[k].as_f64()).collect() };
    let (walls, cpus) = (of("wall_s"), of("cpu_s"));
    println!(
        "after the first: pass wall p50 {:.2} s, max {:.2} s; CPU p50 {:.2} s, max {:.2} s",
        quantile(&walls, 0.5),
        quantile(&walls, 1.0),
        quantile(&cpus, 0.5),
        quantile(&cpus, 1.0)
    );
}
