//! The evidence pack for one month of a 5-host estate on Azurite (by default 60,000 sessions,
//! 60,000 recordings and 5,000 reviews): `handler evidence --from … --to … --out DIR`, its wall time
//! and its peak RSS (`/usr/bin/time -f %M`, the child's `maxrss`). Goals: ≤ 2 minutes, ≤ 256 MB.
//!
//! The month is seeded first through the library's own writers over the app's table client: each
//! session through `put_day` (as the audit-log tail stores it), each recording as its typed
//! catalogue row (hashed; one in ten unjoined), each review through `reviews::record_by` (as `POST /api/reviews`).
//! Seeding is not measured. The pack is made by the real binary with the settings a deployment
//! gives it; `BENCH_HANDLER_BIN` runs another build instead (e.g. a release build).
//!
//! Usage: `scripts/bench-evidence.sh [-- --sessions N --reviews N --hosts N] [--shared-azurite]`.

#[path = "common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the other Azurite benches, which use the rest"
)]
mod common;

use std::sync::Arc;
use std::time::Instant;

use bastion_recordings::audit_logs::sessions::SessionRecord;
use bastion_recordings::catalogue::RECORDINGS_TABLE;
use bastion_recordings::catalogue::days::{Before, DayRow, put as put_day};
use bastion_recordings::catalogue::recording::{
    Confidence, Hash, Hold, Joined, Match, Recording, RecordingKey, STATUS_CATALOGUED,
};
use bastion_recordings::export::Outbox;
use bastion_recordings::ports::Ports;
use bastion_recordings::reviews::{ReviewRequest, Reviewer, record_by};
use bastion_recordings::sources::{Source, Sources};
use bastion_recordings::tables::{TableStore, WriteMode};
use bastion_testkit::clock::FixedClock;
use futures::StreamExt as _;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use common::azurite::Azurite;
use common::num;

/// base64 of the seed [7; 32] (a bench key).
const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const FROM: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
const SEED_CONCURRENCY: usize = 48;

/// Session `i` of `n`: spread evenly over the 31 days, round-robin over the hosts.
fn session(i: usize, n: usize, hosts: usize) -> (SessionRecord, OffsetDateTime, String) {
    let at = i64::try_from(i).unwrap_or(0) * 31 * 86_400 / i64::try_from(n.max(1)).unwrap_or(1);
    let start = FROM + Duration::seconds(at);
    let host = format!("bas-{:02}", i % hosts);
    let mut s = SessionRecord::new(&format!("tun-{i:06}"));
    s.user_name = format!("user{:03}", i % 200);
    s.user_email = format!("user{:03}@contoso.com", i % 200);
    s.client_ip = format!("203.0.113.{}", i % 250);
    s.protocol = if i.is_multiple_of(3) { "rdp" } else { "ssh" }.into();
    s.target_vm = format!("vm-{:03}", i % 300);
    s.bastion_host = host.clone();
    s.outcome = "connected".into();
    s.session_start = Some(start);
    s.session_end = Some(start + Duration::minutes(20));
    (s, start, host)
}

#[tokio::main]
async fn main() {
    let Some(azurite) = Azurite::from_args() else {
        return;
    };
    let sessions: usize = num("--sessions", 60_000);
    let reviews: usize = num("--reviews", 5_000);
    let hosts: usize = num("--hosts", 5);
    let cs = azurite.fresh();
    let prefix = format!("ev{}", common::run_id().replace('-', ""));
    let prefix: String = prefix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    let env = vec![
        ("AzureWebJobsStorage", cs.clone()),
        ("TABLE_PREFIX", prefix.clone()),
        ("EVIDENCE_SIGNING_KEY", KEY.to_owned()),
    ];
    let config = common::config(&env);
    let (blobs, tables) = common::clients(&config);
    let ports = Ports {
        tables: tables.clone(),
        sources: Arc::new(Sources::single(
            Source::new(blobs.clone(), "recordings"),
            Source::new(blobs, "insights-logs-bastionauditlogs"),
        )),
        clock: Arc::new(bastion_recordings::clock::SystemClock),
        outbox: bastion_recordings::export::Outbox::off(),
    };
    println!(
        "evidence pack on Azurite: {sessions} sessions, {sessions} recordings, {reviews} reviews, {hosts} hosts, March 2025"
    );
    let seeding = Instant::now();
    tables.ensure_table(RECORDINGS_TABLE).await.expect("table");
    let t: &dyn TableStore = tables.as_ref();
    let off = &Outbox::off();
    futures::stream::iter(0..sessions)
        .map(|i| async move {
            let (s, start, host) = session(i, sessions, hosts);
            again(|| {
                put_day(
                    t,
                    off,
                    &s,
                    start + Duration::minutes(25),
                    Before::Day(None),
                    None,
                    None,
                )
            })
            .await;
            let name = format!("{host}/rec-{i:06}.mp4");
            let created = start + Duration::minutes(21);
            let session = DayRow::of(&s).map(|w| w.view());
            let recording = Recording {
                key: RecordingKey::for_source_blob(start, "devstoreaccount1", "recordings", &name),
                blob_url: format!("http://127.0.0.1/devstoreaccount1/recordings/{name}"),
                account: "devstoreaccount1".into(),
                source_bastion: host.clone(),
                container: "recordings".into(),
                blob_name: name,
                content_length: 1_048_576,
                content_type: "video/mp4".into(),
                blob_type: "BlockBlob".into(),
                etag: "0x1".into(),
                sequencer: "01".into(),
                event_id: format!("e{i}"),
                blob_created: created,
                created: None,
                first_seen: created,
                retention_class: "standard".into(),
                retain_until: "2026-03-31".into(),
                candidate_keys: Vec::new(),
                metadata: "{}".into(),
                status: STATUS_CATALOGUED.into(),
                // One in ten unjoined.
                joined: (!i.is_multiple_of(10)).then(|| Joined {
                    m: Match {
                        confidence: Confidence::Exact,
                        tunnels: vec![s.tunnel_id.clone()],
                    },
                    session,
                }),
                rejoin_at: None,
                hold: Hold::default(),
                shortened: None,
                deletion: None,
                hash: Some(Hash {
                    sha256: format!("{i:064x}"),
                    length: 1_048_576,
                    etag: "0x1".into(),
                    at: bastion_recordings::dates::format_utc(created),
                }),
                replaced: None,
                retagged: None,
                actor: None,
                below_min_bytes: None,
                suspect_alerted: None,
                growing: false,
                outside_deletions: Vec::new(),
                writer: None,
            };
            let row = recording.to_entity();
            again(|| t.write(RECORDINGS_TABLE, &row, WriteMode::Upsert)).await;
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    let ports = &ports;
    futures::stream::iter(0..reviews)
        .map(|r| async move {
            let i = r * sessions / reviews.max(1);
            let (_, start, host) = session(i, sessions, hosts);
            let name = format!("{host}/rec-{i:06}.mp4");
            let key = RecordingKey::for_source_blob(start, "devstoreaccount1", "recordings", &name);
            let verdict = ["ok", "ok", "ok", "follow-up", "incident"][r % 5];
            let body = json!({"recording": key.id(), "verdict": verdict, "comment": "bench"});
            let req = ReviewRequest::parse(body.to_string().as_bytes(), None).expect("review");
            // Reviewed two hours after the session's start (made in the month, on time).
            let ports = Ports {
                clock: Arc::new(FixedClock::new(start + Duration::hours(2))),
                ..ports.clone()
            };
            record_by(
                &ports,
                &req,
                &Reviewer::named(&format!("reviewer{}@contoso.com", r % 7)),
            )
            .await
            .expect("recorded");
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    println!(
        "seeded in {:.0} s (not measured)",
        seeding.elapsed().as_secs_f64()
    );

    let bin = std::env::var("BENCH_HANDLER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_handler").to_owned());
    let out = std::env::temp_dir().join(format!("bench-evidence-{}", common::run_id()));
    let started = Instant::now();
    let run = std::process::Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kb=%M"])
        .arg(&bin)
        .args([
            "evidence",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--out",
        ])
        .arg(&out)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // No Chromium: the PDF is not part of the goal (the manifest notes its absence).
        .env("PATH", "/nonexistent")
        .output()
        .expect("run handler evidence");
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "handler evidence failed: {stderr}");
    let kb: f64 = stderr
        .rsplit("maxrss_kb=")
        .next()
        .and_then(|v| v.trim().parse().ok())
        .expect("maxrss from /usr/bin/time");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest.json"))
            .expect("manifest");
    let rows = |name: &str| {
        manifest["files"]
            .as_array()
            .and_then(|f| f.iter().find(|e| e["name"] == name))
            .map_or(Value::Null, |e| e["rows"].clone())
    };
    let verify = std::process::Command::new(&bin)
        .args(["evidence", "verify"])
        .arg(&out)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("verify");
    let mib = kb / 1024.0;
    println!(
        "handler evidence ({bin}): {wall:.1} s wall (goal <= 120 s), peak RSS {mib:.0} MiB (goal <= 256 MB); sessions.csv {} rows, recordings.csv {} rows, reviews.csv {} rows; verify exit {:?}",
        rows("sessions.csv"),
        rows("recordings.csv"),
        rows("reviews.csv"),
        verify.status.code()
    );
    // An unjoined recording sorts by its blob's creation, 21 minutes after its session's start:
    // the last of them fall into April.
    let april = FROM + Duration::days(31);
    let recordings = (0..sessions)
        .filter(|&i| {
            let (_, start, _) = session(i, sessions, hosts);
            !i.is_multiple_of(10) || start + Duration::minutes(21) < april
        })
        .count();
    assert_eq!(
        rows("sessions.csv"),
        json!(sessions),
        "every session packed"
    );
    assert_eq!(
        rows("recordings.csv"),
        json!(recordings),
        "March's recordings packed"
    );
    // A review is made two hours after its session's start: the last ones fall into April.
    let made = (0..reviews)
        .filter(|r| {
            let (_, start, _) = session(r * sessions / reviews.max(1), sessions, hosts);
            start + Duration::hours(2) < april
        })
        .count();
    assert_eq!(rows("reviews.csv"), json!(made), "March's reviews packed");
    assert!(verify.status.success(), "the pack verifies");
    let _ = std::fs::remove_dir_all(&out);
}

/// Seeding on a busy machine: a write the emulator did not answer in time is made again (both
/// writes are idempotent); anything else stops the bench.
async fn again<T, F, Fut>(mut write: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, bastion_recordings::azure::AzureError>>,
{
    for _ in 0..4 {
        match write().await {
            Ok(v) => return v,
            Err(e) if e.is_retryable() => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await
            }
            Err(e) => panic!("seeding: {e}"),
        }
    }
    write().await.expect("seeding, after 4 tries")
}
