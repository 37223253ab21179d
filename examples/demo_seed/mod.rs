//! The demo's data, one definition for `examples/demo.rs` (`seed`, `workspace`, `show`) and for
//! the e2e test that walks the reviewer's path on it: per recording source (one Bastion host
//! each), three recordings and the audit records of the current hour, as the module doc of
//! `examples/demo.rs` tables them.
//!
//! Record and session times are fractions of the span from the hour's start to now, at least
//! [`MIN_SPAN`] long: alice's session lasts 85 % of it and bob's 65 %, whatever the minute.

use bastion_recordings::config::{Config, SourceSpec};
use bastion_recordings::dates::{format_date, format_utc_millis};
use bastion_recordings::storage::{BlobRef, Metadata};
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// The shortest span the seeded records cover: bob's session lasts 65 % of it (26 minutes).
pub(crate) const MIN_SPAN: Duration = Duration::minutes(40);

const SUBSCRIPTION: &str = "11111111-2222-3333-4444-555555555555";
/// The resource group of the demo's Bastion hosts.
const HUB_GROUP: &str = "rg-hub";
/// Alice's SSH session on VM-APP-01 (ended); the first recording names it.
const ALICE: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";
/// Bob's RDP session on VM-WIN-02 (ended); the second recording names it.
pub(crate) const BOB: &str = "0b7d3c1e-2f4a-4b6c-8d9e-1a2b3c4d5e6f";
/// Named by the third recording only: no audit record carries it, so that recording stays unjoined.
pub(crate) const UNSEEN: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
/// Bob's failed login just before his session.
const BOB_FAILED: &str = "a1b2c3d4-0000-4000-8000-000000000002";
/// A session still open on VM-APP-01, without a recording.
const OPEN: &str = "c0ffee00-1111-4222-8333-444455556666";
/// Host `i`'s version of a tunnel id: the first hex digit shifted by `i`, so each host's
/// sessions are its own (tunnel ids are keys across hosts).
pub(crate) fn tunnel(t: &str, i: usize) -> String {
    let first = t
        .get(..1)
        .and_then(|d| usize::from_str_radix(d, 16).ok())
        .unwrap_or(0);
    format!("{:x}{}", (first + i) % 16, t.get(1..).unwrap_or_default())
}

/// The Bastion host name of recording source `spec`, as Azure writes it in resource ids.
pub(crate) fn host_of(spec: &SourceSpec) -> String {
    spec.bastion
        .clone()
        .unwrap_or_else(|| "bas-hub-weu".into())
        .to_ascii_uppercase()
}

/// The resource id of the demo's Bastion host `name`, in the demo's subscription and hub resource
/// group: the id the demo's settings name each host by (`RECORDINGS_SOURCES` in `scripts/demo.sh`),
/// so the page links to the host's own page in the portal.
pub(crate) fn host_id(name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{HUB_GROUP}/providers/Microsoft.Network/bastionHosts/{}",
        name.to_ascii_lowercase()
    )
}

/// The resource id of recording source `spec`'s host as Azure writes it in audit records (upper
/// case): the one the settings name, else [`host_id`] of its name.
fn host_id_of(spec: &SourceSpec) -> String {
    spec.bastion_id
        .clone()
        .unwrap_or_else(|| host_id(&host_of(spec)))
        .to_ascii_uppercase()
}

/// Who connected where, as one session's audit records say.
struct Session<'a> {
    tunnel: String,
    user: &'a str,
    email: &'a str,
    ip: &'a str,
    port: u16,
    protocol: &'a str,
    vm: &'a str,
    vm_ip: &'a str,
}

/// One `BastionAuditLogs` record of `s` on `host` (its resource id) at `at`; `extra` adds
/// properties (end fields).
fn record(
    host: &str,
    at: OffsetDateTime,
    op: &str,
    message: &str,
    s: &Session<'_>,
    extra: Value,
) -> Value {
    let mut props = json!({
        "userName": s.user, "clientIpAddress": s.ip, "clientPort": s.port, "protocol": s.protocol,
        "targetResourceId": format!(
            "/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}",
            s.vm
        ),
        "subscriptionId": SUBSCRIPTION, "message": message, "resourceType": "VM",
        "targetVMIPAddress": s.vm_ip, "tunnelId": s.tunnel,
    });
    if !s.email.is_empty() {
        props["userEmail"] = json!(s.email);
    }
    if let (Some(p), Some(x)) = (props.as_object_mut(), extra.as_object()) {
        p.extend(x.clone());
    }
    json!({
        "time": format_utc_millis(at),
        "resourceId": host,
        "operationName": format!("Microsoft.Network/BastionHost/{op}"),
        "category": "BastionAuditLogs", "level": "Informational", "properties": props,
    })
}

/// The disconnect record of `s`, which carries the session's start, end and duration.
fn ended(host: &str, s: &Session<'_>, start: OffsetDateTime, end: OffsetDateTime) -> Value {
    let ms = i64::try_from((end - start).whole_milliseconds()).unwrap_or(0);
    let times = json!({
        "sessionStartTime": format_utc_millis(start), "sessionEndTime": format_utc_millis(end),
        "duration": ms,
    });
    record(host, end, "disconnect", "Session ended.", s, times)
}

/// Host `i`'s audit records (`host`: its resource id) of the hour starting at `hour`, up to
/// `now`, in JSON Lines.
fn audit_hour(host: &str, i: usize, hour: OffsetDateTime, now: OffsetDateTime) -> String {
    // Times as fractions of the span up to now: the hour so far, or MIN_SPAN when the hour is
    // younger (then the first records lie in the hour before; the pipeline takes a record's time
    // from the record, not from its blob's path). So no session is a few seconds long.
    let from = hour.min(now - MIN_SPAN);
    let at = |f: f64| from + (now - from) * f;
    let alice = Session {
        tunnel: tunnel(ALICE, i),
        user: "azureuser",
        email: "alice@contoso.com",
        ip: "203.0.113.45",
        port: 51544,
        protocol: "ssh",
        vm: "VM-APP-01",
        vm_ip: "10.10.1.4",
    };
    let bob = Session {
        tunnel: tunnel(BOB, i),
        user: "administrator",
        email: "bob@contoso.com",
        ip: "198.51.100.7",
        port: 40211,
        protocol: "rdp",
        vm: "VM-WIN-02",
        vm_ip: "10.10.1.5",
    };
    // Bob mistypes his password first: a failed login on a tunnel of its own.
    let bob_failed = Session {
        tunnel: tunnel(BOB_FAILED, i),
        port: 40207,
        ..bob
    };
    let open = Session {
        tunnel: tunnel(OPEN, i),
        user: "azureuser",
        email: "",
        ip: "203.0.113.46",
        port: 50001,
        protocol: "ssh",
        vm: "VM-APP-01",
        vm_ip: "10.10.1.4",
    };
    let (alice_start, alice_end) = (at(0.10), at(0.95));
    let (bob_start, bob_end) = (at(0.20), at(0.85));
    let none = json!({});
    let records = [
        record(
            host,
            at(0.05),
            "connect",
            "Successfully Connected.",
            &open,
            none.clone(),
        ),
        record(
            host,
            alice_start,
            "connect",
            "Successfully Connected.",
            &alice,
            none.clone(),
        ),
        record(
            host,
            at(0.15),
            "connect",
            "Login Failed",
            &bob_failed,
            none.clone(),
        ),
        record(
            host,
            bob_start,
            "connect",
            "Successfully Connected.",
            &bob,
            none,
        ),
        ended(host, &bob, bob_start, bob_end),
        ended(host, &alice, alice_start, alice_end),
    ];
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// Host `i`'s recordings (name, metadata) created on `day` (`YYYY-MM-DD`).
fn recordings(i: usize, day: &str) -> [(String, Metadata); 3] {
    let meta = |pairs: &[(&str, &str)]| -> Metadata {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    [
        (
            format!(
                "{}/vm-app-01/{}.rec",
                day.replace('-', "/"),
                tunnel(ALICE, i)
            ),
            meta(&[("vm", "vm-app-01")]),
        ),
        (
            format!("PLACEHOLDER-{}", tunnel(BOB, i)),
            meta(&[("vm", "vm-win-02")]),
        ),
        (
            format!("pci/{}", tunnel(UNSEEN, i)),
            meta(&[("vm", "vm-app-01"), ("environment", "pci")]),
        ),
    ]
}

/// The start of the current UTC hour and now: the audit hour's bounds.
pub(crate) fn this_hour() -> Result<(OffsetDateTime, OffsetDateTime), time::error::ComponentRange> {
    let now = OffsetDateTime::now_utc();
    let hour = now
        .replace_minute(0)?
        .replace_second(0)?
        .replace_nanosecond(0)?;
    Ok((hour, now))
}

/// Every host's audit hour (JSON Lines), one per recording source.
pub(crate) fn audit_hours(
    config: &Config,
    hour: OffsetDateTime,
    now: OffsetDateTime,
) -> Vec<String> {
    (config.sources.recordings.iter().enumerate())
        .map(|(i, spec)| audit_hour(&host_id_of(spec), i, hour, now))
        .collect()
}

/// One recording to upload: where, its bytes and its metadata.
pub(crate) struct Upload {
    pub(crate) blob: BlobRef,
    pub(crate) body: Bytes,
    pub(crate) meta: Metadata,
    /// The recording source's Bastion host (as [`host_of`] spells it).
    pub(crate) host: String,
}

/// Every recording source's recordings, created on `now`'s day.
pub(crate) fn uploads(config: &Config, now: OffsetDateTime) -> Vec<Upload> {
    let day = format_date(now.date());
    let mut out = Vec::new();
    for (i, spec) in config.sources.recordings.iter().enumerate() {
        for (n, (name, meta)) in recordings(i, &day).into_iter().enumerate() {
            out.push(Upload {
                blob: BlobRef::new(spec.container.clone(), name),
                // Larger than RECORDING_MIN_BYTES (4096): a shorter blob cannot vouch for a session.
                body: Bytes::from(vec![b'r'; 64 * 1024 * (n + 1)]),
                meta,
                host: host_of(spec),
            });
        }
    }
    out
}

/// Every host's audit-log append blob of the hour starting at `hour` (the path Bastion's
/// diagnostic setting writes, in the first audit-log source's container) with its JSON Lines.
pub(crate) fn audit_blobs(
    config: &Config,
    hour: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Vec<(BlobRef, String, String)>, &'static str> {
    let logs = config
        .sources
        .audit_logs
        .first()
        .ok_or("no audit-log source")?;
    let hosts = config.sources.recordings.iter();
    Ok(hosts
        .zip(audit_hours(config, hour, now))
        .map(|(spec, lines)| {
            let (host, id) = (host_of(spec), host_id_of(spec));
            let path = format!(
                "resourceId={id}/y={:04}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
                hour.year(),
                u8::from(hour.month()),
                hour.day(),
                hour.hour()
            );
            (BlobRef::new(logs.container.clone(), path), lines, host)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bob's session (65 % of the span) in the audit hour `now` gives, in minutes.
    fn bobs_minutes(now: OffsetDateTime) -> i64 {
        let hour = now.replace_minute(0).expect("hour");
        let lines = audit_hour(&host_id("bas-hub-weu").to_ascii_uppercase(), 0, hour, now);
        let end = lines
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
            .find(|r| {
                r["properties"]["tunnelId"] == json!(tunnel(BOB, 0))
                    && r["properties"]["sessionEndTime"].is_string()
            })
            .expect("bob's disconnect record");
        end["properties"]["duration"].as_i64().expect("duration") / 60_000
    }

    #[test]
    fn bobs_session_is_a_half_hour_whatever_the_minute_the_demo_runs() {
        let hour = time::macros::datetime!(2026-11-27 14:00 UTC);
        // A minute into the hour, the span is MIN_SPAN, not one minute.
        assert_eq!(bobs_minutes(hour + Duration::minutes(1)), 26);
        assert_eq!(bobs_minutes(hour + Duration::seconds(5)), 26);
        // Late in the hour, the hour so far.
        assert_eq!(bobs_minutes(hour + Duration::minutes(50)), 32);
    }
}
