//! The estate checks against the loopback fake Resource Manager of the e2e tests (answers in the
//! REST specs' shapes, a fixed round trip per request): Resource Manager requests per host per
//! `EstateCheck` when nothing changed, the wall time of one check and one `LiveSessions` tick over
//! `--hosts` hosts at the code's bounded concurrency, the same with the first `--throttle`
//! requests answered 429 + `Retry-After: 1`, and against a token bucket of `--bucket` requests
//! refilled at `--refill` a second whose answers report the remaining count (429 when empty): once
//! at the fixed concurrency (8 hosts at once, the remaining counts ignored) and once paced by them
//! (`Client::paced`, as the app runs). A benchmark, not a timed test.
//!
//! Usage: `cargo bench --bench estate -- [--hosts 100] [--latency-ms 100] [--throttle 40]
//! [--bucket 250] [--refill 25]`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/e2e/estate/fake_arm.rs"]
mod fake_arm;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bastion_recordings::arm::client::ArmClient;
use bastion_recordings::arm::{MAX_IN_FLIGHT, ResourceManager as _};
use bastion_recordings::azure::http::{Auth, Client};
use bastion_recordings::azure::{Policy, Timeouts};
use bastion_recordings::estate::findings::Sinks;
use bastion_recordings::estate::settings::EstateSettings;
use bastion_recordings::estate::trail::Window;
use bastion_recordings::estate::{check, live};
use bastion_testkit::clock::FixedClock;
use futures::StreamExt as _;

/// The audit trail's window: a day, the audit records' default wait.
const WINDOW: Window = Window {
    silence: time::Duration::hours(24),
    wait: time::Duration::minutes(120),
};
use bastion_recordings::ports::Ports;
use bastion_recordings::sources::{Source, Sources};
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::memory::InMemoryTables;
use serde_json::json;
use time::macros::datetime;

use self::fake_arm::{Bucket, Estate, FakeArm, account_id, host_id};

const AUDIT_ACCOUNT: &str = "stlogs";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `LiveSessions` hosts read at once: a read mostly waits between polls; the client's pacer
/// bounds requests.
const LIVE_AT_ONCE: usize = 32;

/// `n` healthy hosts, each recording into its own account, each with one live session.
fn estate(n: usize, latency: Duration, retry_after: u64) -> Estate {
    // The Network provider has been seen answering `Retry-After: 10` (the default of --retry-after).
    let mut e = Estate {
        latency,
        lro: fake_arm::lro::Lro::Network,
        lro_polls: 1,
        retry_after,
        ..Estate::default()
    };
    for i in 0..n {
        let name = format!("bas-{i:03}");
        e.add_healthy(&name, &format!("strec{i:03}"), "recordings", AUDIT_ACCOUNT);
        let id = host_id(&name).to_ascii_lowercase();
        e.sessions.insert(
            id,
            vec![json!({"sessionId": format!("s-{i}"),
            "startTime": "2026-11-25T12:00:00.0000Z", "resourceType": "VM",
            "targetHostName": "vm-app-01", "userName": "azureuser", "protocol": "SSH",
            "targetIpAddress": "10.10.1.4", "sessionDurationInMins": 1.0})],
        );
    }
    e
}

fn ports(n: usize) -> Ports {
    let recordings: Vec<Source> = (0..n)
        .map(|i| {
            let store = Arc::new(InMemoryBlobStore::new(format!("strec{i:03}")));
            Source {
                bastion: Some(format!("bas-{i:03}")),
                ..Source::new(store, "recordings")
            }
        })
        .collect();
    let logs = Source::new(
        Arc::new(InMemoryBlobStore::new(AUDIT_ACCOUNT)),
        "insights-logs-bastionauditlogs",
    );
    Ports {
        tables: Arc::new(InMemoryTables::new()),
        sources: Arc::new(Sources::new(recordings, vec![logs]).expect("sources")),
        clock: Arc::new(FixedClock::new(datetime!(2026-11-25 12:00 UTC))),
        outbox: bastion_recordings::export::Outbox::off(),
    }
}

/// One `EstateCheck` over every host: (requests, findings open, answers that were 429).
async fn run(
    label: &str,
    fake: &FakeArm,
    arm: &ArmClient,
    (settings, ports, sinks): (&EstateSettings, &Ports, &Sinks),
) -> (usize, usize, usize) {
    let n = settings.hosts.len();
    let now = datetime!(2026-11-25 12:00 UTC);
    let (before, throttled) = fake.with(|e| (e.requests.len(), e.throttled));
    let t = Instant::now();
    let r = bastion_testkit::estate::run(ports, arm, settings, sinks, WINDOW, now).await;
    let took = t.elapsed();
    let (requests, throttled) = fake.with(|e| (e.requests.len() - before, e.throttled - throttled));
    println!(
        "EstateCheck {label}: {requests} requests ({:.2} per host), {throttled} answered 429, {:.2} s, {} open, {} notifications",
        requests as f64 / n as f64,
        took.as_secs_f64(),
        r.open,
        r.findings.len()
    );
    (requests, r.open, throttled)
}

#[tokio::main]
async fn main() {
    let n = usize::try_from(arg("--hosts", 100)).expect("hosts");
    let latency = Duration::from_millis(arg("--latency-ms", 100));
    let throttle = usize::try_from(arg("--throttle", 40)).expect("throttle");
    let bucket = u32::try_from(arg("--bucket", 250)).expect("bucket");
    let refill = u32::try_from(arg("--refill", 25)).expect("refill");
    let retry_after = arg("--retry-after", 10);
    let fake = FakeArm::start(estate(n, latency, retry_after)).await;
    let endpoint = fake.url.parse().expect("url");
    let http = Client::new(
        "arm",
        Some(&endpoint),
        Auth::None,
        Timeouts::CONTROL,
        Policy::CONTROL,
    );
    let http = http.expect("http client");
    let paced =
        || ArmClient::new(http.clone().paced(MAX_IN_FLIGHT, None), &fake.url).expect("client");
    let arm = paced();
    let hosts: Vec<String> = (0..n).map(|i| host_id(&format!("bas-{i:03}"))).collect();
    let settings = EstateSettings {
        hosts: hosts.clone(),
        arm_endpoint: fake.url.clone(),
        disconnect: false,
        recording_accounts: (0..n)
            .map(|i| account_id(&format!("strec{i:03}")))
            .collect(),
        audit_silence: time::Duration::hours(24),
        bypass_lookback: time::Duration::days(90),
        bypass_scopes: vec![],
        bypass_internal_level: bastion_recordings::estate::findings::Level::Medium,
        extension_allow: vec![],
    };
    let ports = ports(n);
    let sinks = check::sinks(&ports, &[], None);
    let ctx = (&settings, &ports, &sinks);
    let now = datetime!(2026-11-25 12:00 UTC);
    println!(
        "{n} hosts, {} ms per request, {} hosts at once, at most {MAX_IN_FLIGHT} requests out per lane",
        latency.as_millis(),
        bastion_testkit::estate::CONCURRENCY
    );

    run("first", &fake, &arm, ctx).await;
    let (requests, open, _) = run("nothing changed", &fake, &arm, ctx).await;
    assert_eq!(open, 0, "a healthy estate has no finding");
    assert!(requests <= 6 * n, "more than 6 requests per host");
    fake.with(|e| e.throttle = throttle);
    let (_, open, _) = run("throttled", &fake, &arm, ctx).await;
    assert_eq!(open, 0, "throttling ridden out, no check-failed");

    // The same check against a bucket: remaining counts ignored, then paced by them.
    let label = |how: &str| format!("bucket {bucket} +{refill}/s, {how}");
    let fixed = ArmClient::new(http.clone(), &fake.url).expect("client");
    fake.with(|e| e.bucket = Some(Bucket::new(bucket, refill)));
    let (_, _, throttled_fixed) = run(&label("fixed concurrency"), &fake, &fixed, ctx).await;
    fake.with(|e| e.bucket = Some(Bucket::new(bucket, refill)));
    let (_, open, throttled_paced) = run(&label("paced"), &fake, &paced(), ctx).await;
    fake.with(|e| e.bucket = None);
    assert_eq!(open, 0, "paced: every host checked, no check-failed");
    assert!(
        throttled_paced <= throttled_fixed,
        "pacing answered more 429s ({throttled_paced}) than the fixed concurrency ({throttled_fixed})"
    );

    // Bounded by the run's budget, as the function runs it.
    let bounded = arm
        .until(std::time::Instant::now() + live::BUDGET)
        .expect("a bounded client");
    let before = fake.with(|e| e.requests.len());
    let t = Instant::now();
    // One tick per host, as the work queue runs its units, LIVE_AT_ONCE of them at a time.
    let wait = time::Duration::minutes(120);
    let ticks = (hosts.iter()).map(|h| live::tick(&ports, bounded.as_ref(), h, wait, now, false));
    let reports: Vec<live::Report> = futures::stream::iter(ticks)
        .buffer_unordered(LIVE_AT_ONCE)
        .collect()
        .await;
    let failed: Vec<&String> = reports.iter().flat_map(|r| &r.failed).collect();
    let requests = fake.with(|e| e.requests.len()) - before;
    println!(
        "LiveSessions (202, status polled through InProgress to Succeeded, result; Retry-After: {retry_after} s): {requests} requests ({:.2} per host), {:.2} s, {} live, {} failed",
        requests as f64 / n as f64,
        t.elapsed().as_secs_f64(),
        reports.iter().map(|r| r.live).sum::<usize>(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "every host read within the budget: {failed:?}"
    );
}
