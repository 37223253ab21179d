//! The history a team switching the product on already has: per Bastion host, a recordings
//! container and 48 hourly `PT1H.json` audit-log blobs (in one audit-log container, as diagnostic
//! settings write them), with sessions whose connect and disconnect records may fall in different
//! hours, a few failed logins, and one recording per session: most named after the session's tunnel
//! id, the others not (the join then falls back to the time-window heuristic).
//!
//! The records have the shape of `tests/fixtures/auditlogs/PT1H.sample.jsonl`. Values come from a
//! seeded generator, so every contestant of a run (and every run with the same sizes) gets the same
//! history; only the blobs' creation times (their upload) differ, and they lie outside every
//! session's window, so they decide nothing.

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bytes::Bytes;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::common::drive;

/// The sizes of a history.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    /// Recordings in all (one per successful session), spread evenly over the hosts.
    pub(crate) recordings: usize,
    /// Bastion hosts.
    pub(crate) hosts: usize,
    /// Hours of audit logs per host (one `PT1H.json` each).
    pub(crate) hours: usize,
    /// Percent of recordings whose name carries no tunnel id.
    pub(crate) untunnelled: usize,
}

const SUB: &str = "11111111-2222-3333-4444-555555555555";
/// Failed logins per hundred sessions (records without a recording).
const FAILED_PER_HUNDRED: usize = 4;

/// A seeded SplitMix64: a few lines instead of a dependency, and the same history on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn guid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        let h = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

/// One generated history: blob names and contents, per host.
pub(crate) struct History {
    /// The first hour of audit logs (the backfill range starts here).
    pub(crate) start: OffsetDateTime,
    /// Audit-log blobs: (name, JSON lines).
    pub(crate) audit: Vec<(String, String)>,
    /// Recording blob names, per host.
    pub(crate) recordings: Vec<Vec<String>>,
    /// Sessions (= recordings), failed logins and records in all.
    pub(crate) sessions: usize,
    pub(crate) failed: usize,
    pub(crate) records: usize,
}

/// The Bastion host `h`'s name (lower-case, as settings and rows name it).
pub(crate) fn host(h: usize) -> String {
    format!("bas-bench-{h:02}")
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("formattable time")
}

#[allow(
    clippy::too_many_arguments,
    reason = "one record's fields, named at the call"
)]
fn record(
    t: OffsetDateTime,
    host: &str,
    op: &str,
    message: &str,
    vm: usize,
    user: usize,
    tunnel: &str,
    end: Option<(OffsetDateTime, OffsetDateTime)>,
) -> String {
    let bastion = format!(
        "/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{}",
        host.to_ascii_uppercase()
    );
    let target = format!(
        "/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-APP-WEU/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-APP-{vm:02}"
    );
    let mut props = json!({
        "userName": format!("user{user:03}"),
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        "clientIpAddress": format!("203.0.113.{}", user % 250 + 1),
        "clientPort": 40000 + user,
        "protocol": if vm.is_multiple_of(3) { "rdp" } else { "ssh" },
        "targetResourceId": target, "subscriptionId": SUB, "message": message,
        "resourceType": "VM", "targetVMIPAddress": format!("10.10.1.{}", vm + 4),
        "userEmail": format!("user{user:03}@contoso.com"), "tunnelId": tunnel,
    });
    if let Some((start, stop)) = end {
        props["sessionStartTime"] = json!(rfc3339(start));
        props["sessionEndTime"] = json!(rfc3339(stop));
        props["duration"] = json!((stop - start).whole_milliseconds());
    }
    json!({
        "time": rfc3339(t), "resourceId": bastion,
        "operationName": format!("Microsoft.Network/BastionHost/{op}"),
        "category": "BastionAuditLogs", "level": "Informational", "location": "westeurope",
        "properties": props, "FluentdIngestTimestamp": rfc3339(t), "Region": "westeurope",
        "CustomerSubscriptionId": SUB,
    })
    .to_string()
}

/// How long before the last full hour before `now` the history ends. Every session then ends more
/// than `RECORDING_UPLOAD_LAG_MINUTES` (30) before the recordings are uploaded, so no recording's
/// creation time (its upload, a moment that differs between contestants) lies in any session's
/// window: each contestant must decide every recording alike (a name with a tunnel id exact, one
/// without none), and the run checks that they end with the same catalogue.
const QUIET: Duration = Duration::hours(1);

/// Generates the history of `sizes.hours` hours ending [`QUIET`] before the last full hour before
/// `now`.
pub(crate) fn generate(sizes: Sizes, now: OffsetDateTime) -> History {
    let mut rng = Rng(0x5eed);
    let hour0 = now
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .expect("time")
        .replace_nanosecond(0)
        .expect("time")
        - QUIET
        - Duration::hours(sizes.hours as i64);
    let span = Duration::hours(sizes.hours as i64);
    let (mut audit, mut recordings) = (Vec::new(), Vec::new());
    let (mut sessions, mut failed, mut records) = (0, 0, 0);
    for h in 0..sizes.hosts {
        let name = host(h);
        let mut per_hour: Vec<Vec<(OffsetDateTime, String)>> = vec![Vec::new(); sizes.hours];
        let mut put = |t: OffsetDateTime, line: String| {
            let i = ((t - hour0).whole_hours().max(0) as usize).min(sizes.hours - 1);
            per_hour[i].push((t, line));
        };
        let mut names = Vec::new();
        let count =
            sizes.recordings / sizes.hosts + usize::from(h < sizes.recordings % sizes.hosts);
        for i in 0..count {
            let tunnel = rng.guid();
            let (vm, user) = (rng.below(40) as usize, rng.below(300) as usize);
            // Sessions of 2–90 minutes, all ended inside the range.
            let len = Duration::seconds(120 + rng.below(88 * 60) as i64);
            let start =
                hour0 + Duration::seconds(rng.below((span - len).whole_seconds() as u64) as i64);
            let stop = start + len;
            put(
                start,
                record(
                    start,
                    &name,
                    "connect",
                    "Successfully Connected.",
                    vm,
                    user,
                    &tunnel,
                    None,
                ),
            );
            let end = Some((start, stop));
            put(
                stop,
                record(
                    stop,
                    &name,
                    "disconnect",
                    "HYPOTHETICAL-session-ended",
                    vm,
                    user,
                    &tunnel,
                    end,
                ),
            );
            records += 2;
            sessions += 1;
            names.push(if (i * 100 / count.max(1)) < sizes.untunnelled {
                let t = stop
                    .format(&time::macros::format_description!(
                        "[year]-[month]-[day]T[hour]-[minute]-[second]Z"
                    ))
                    .expect("time");
                format!("vm-app-{vm:02}/{t}-{i}.webm")
            } else {
                let d = stop.date();
                format!(
                    "{}/{:02}/{:02}/{tunnel}.webm",
                    d.year(),
                    u8::from(d.month()),
                    d.day()
                )
            });
            if rng.below(100) < FAILED_PER_HUNDRED as u64 {
                let t = start - Duration::seconds(30);
                let t = if t < hour0 { start } else { t };
                put(
                    t,
                    record(
                        t,
                        &name,
                        "connect",
                        "Login Failed",
                        vm,
                        user,
                        &rng.guid(),
                        None,
                    ),
                );
                records += 1;
                failed += 1;
            }
        }
        recordings.push(names);
        for (i, mut lines) in per_hour.into_iter().enumerate() {
            lines.sort_by_key(|(t, _)| *t);
            let t = hour0 + Duration::hours(i as i64);
            let path = format!(
                "resourceId=/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{}/y={}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
                name.to_ascii_uppercase(),
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour()
            );
            let body: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
            audit.push((path, body));
        }
    }
    History {
        start: hour0,
        audit,
        recordings,
        sessions,
        failed,
        records,
    }
}

/// Tries of one upload: a put is an overwrite, so a put the busy emulator did not answer in time is
/// put again (the bench's setup, not timed).
const UPLOAD_TRIES: usize = 5;

/// Puts `blobs` (name, body, content type) into `container`, 32 at a time.
pub(crate) async fn upload(
    store: &dyn BlobStore,
    container: &str,
    blobs: &[(String, Bytes, &'static str)],
) {
    let run = drive(blobs.len(), 32, |i| {
        let (name, body, ct) = blobs[i].clone();
        let blob = BlobRef::new(container, name);
        async move {
            for _ in 0..UPLOAD_TRIES {
                if store
                    .put(&blob, body.clone(), ct, &Metadata::new())
                    .await
                    .is_ok()
                {
                    return true;
                }
            }
            false
        }
    })
    .await;
    assert_eq!(run.failed, 0, "uploads to {container} failed");
}

/// A recording's bytes: `RECORDING_MIN_BYTES` (4,096 by default), as small as a blob can be and
/// still vouch for its session (a smaller one is a suspect match, which records none).
pub(crate) fn recording_body() -> Bytes {
    Bytes::from(vec![0x5a; 4096])
}
