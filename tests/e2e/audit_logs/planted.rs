//! A blob that is not a recording does not vouch for a session, end to end on Azurite: a 1-byte
//! `notes/<tunnelId>.txt` planted in the recordings container within the session's window is
//! matched `suspect` (too small) when catalogued, which alerts `recording.suspect` once (never
//! again across ticks); the session stays unrecorded (`session.unrecorded` once); a recording of
//! real size names its session as before. A blob of recording size naming a session that ended
//! long before the storage service created it (its `x-ms-creation-time`, whatever its event says)
//! is `suspect` (outside the window) the same way.

use std::collections::BTreeMap;

use bastion_recordings::storage::{BlobRef, Metadata};
use bastion_recordings::tables::{Entity, get_str};
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::support::{Env, event_invocation, tick_invocation};
use crate::harness::{self, AzuriteEnv, HandlerProcess};

const PLANTED: &str = "d0d0d0d0-0000-4000-8000-0000000000a1";
const REAL: &str = "d0d0d0d0-0000-4000-8000-0000000000b2";
const LATE: &str = "d0d0d0d0-0000-4000-8000-0000000000c3";

pub(super) fn utc(t: OffsetDateTime) -> String {
    bastion_recordings::dates::format_utc(t)
}

/// A connect and an end record of `tunnel` from `start` to `end`.
pub(super) fn session(
    tunnel: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
    vm: &str,
) -> String {
    let line = |time: OffsetDateTime, message: &str, extra: String| {
        format!(
            r#"{{"time":"{}","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-PLANT","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"userName":"u","protocol":"ssh","clientIpAddress":"203.0.113.9","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{vm}","message":"{message}","tunnelId":"{tunnel}"{extra}}}}}"#,
            utc(time)
        ) + "\n"
    };
    let ended = format!(
        r#","sessionStartTime":"{}","sessionEndTime":"{}""#,
        utc(start),
        utc(end)
    );
    line(start, "Successfully Connected.", String::new()) + &line(end, "Session Ended", ended)
}

/// Uploads `body` as `name` and catalogues it with the event time `at`; its catalogue id and the
/// reply.
pub(super) async fn catalogue(
    e: &Env,
    name: &str,
    body: Vec<u8>,
    at: OffsetDateTime,
) -> (String, Value) {
    let container = e.env.recordings().to_owned();
    e.blobs
        .put(
            &BlobRef::new(container.clone(), name.to_owned()),
            Bytes::from(body),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("put");
    let mut inv = event_invocation(
        "invocations/recording-created.invocation.json",
        &container,
        name,
    );
    inv["Data"]["eventGridEvent"]["eventTime"] = json!(utc(at));
    let (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{reply}");
    let id = reply["Outputs"]["hashRequests"]["recordingId"]
        .as_str()
        .unwrap_or_else(|| panic!("recording id in {reply}"))
        .to_owned();
    (id, reply)
}

/// The `BlobCreated` invocation of `name` in the recordings container, with event time `at` and
/// event id `id`.
pub(super) fn created_event(e: &Env, name: &str, at: OffsetDateTime, id: &str) -> Value {
    let container = e.env.recordings().to_owned();
    let file = "invocations/recording-created.invocation.json";
    let mut inv = event_invocation(file, &container, name);
    let ev = &mut inv["Data"]["eventGridEvent"];
    ev["eventTime"] = json!(utc(at));
    ev["id"] = json!(id);
    inv
}

/// The notifications of a reply by type: each notification id with how often it came.
pub(super) fn tally(reply: &Value, into: &mut BTreeMap<(String, String), usize>) {
    let out = &reply["Outputs"]["notifications"];
    let list = match out {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![out.clone()],
        _ => Vec::new(),
    };
    for n in list {
        let kind = n["type"].as_str().unwrap_or_default().to_owned();
        let id = n["notificationId"].as_str().unwrap_or_default().to_owned();
        *into.entry((kind, id)).or_default() += 1;
    }
}

#[tokio::test]
async fn a_planted_one_byte_blob_leaves_its_session_unrecorded_and_is_alerted_once() {
    let Some(cs) = harness::azurite() else { return };
    let e = spawn(&cs).await;
    let t0 = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let t = |m: i64| t0 + Duration::minutes(m);
    let text = session(PLANTED, t(-30), t(-20), "vm-a") + &session(REAL, t(-30), t(-20), "vm-b");
    audit_hour(&e, t0 - Duration::hours(1), text).await;
    let mut seen = BTreeMap::new();
    tail_at(&e, t(0), &mut seen).await;
    let (planted, reply) = catalogue(&e, &format!("notes/{PLANTED}.txt"), vec![b'x'], t(-10)).await;
    tally(&reply, &mut seen);
    let real = real_recording_then_tails(&e, t0, &mut seen).await;

    let row = recording_rows(&e).await;
    let p = row(&planted);
    assert_suspect(&p, "too-small", PLANTED);
    assert_eq!(get_str(&p, "TunnelId"), None, "no session's fields");
    let r = row(&real);
    assert_eq!(get_str(&r, "MatchConfidence"), Some("exact"), "{r:?}");

    let day = bastion_recordings::dates::format_date(t(-30).date());
    let (status, body) = e
        .handler
        .get_json(&format!("/api/sessions?from={day}&to={day}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().expect("items");
    let of = |tunnel: &str| {
        items
            .iter()
            .find(|i| i["sessionId"] == tunnel)
            .cloned()
            .unwrap_or_else(|| panic!("{tunnel} in {body}"))
    };
    assert_eq!(of(PLANTED)["recorded"], false, "{}", of(PLANTED));
    assert_eq!(of(REAL)["recorded"], true, "{}", of(REAL));

    let count = |kind: &str| of_kind(&seen, kind);
    let suspect = count("recording.suspect");
    assert_eq!(suspect.len(), 1, "one alert: {seen:?}");
    assert_eq!(suspect[0].1, 1, "sent once across ticks: {seen:?}");
    let unrecorded = count("session.unrecorded");
    assert_eq!(unrecorded.len(), 1, "the planted session only: {seen:?}");
}

/// One `AuditLogTail` tick at `at`, its notifications tallied into `seen`.
pub(super) async fn tail_at(
    e: &Env,
    at: OffsetDateTime,
    seen: &mut BTreeMap<(String, String), usize>,
) {
    let mut inv = tick_invocation();
    inv["Metadata"]["sys"]["UtcNow"] = json!(utc(at));
    let (status, reply) = e.handler.invoke("AuditLogTail", &inv).await;
    assert_eq!(status, 200, "{reply}");
    tally(&reply, seen);
}

/// Catalogues the recording of the real session (its event 10 minutes before `t0`), then tails
/// at `t0` + 3, 4 and 6 minutes; the recording's id.
async fn real_recording_then_tails(
    e: &Env,
    t0: OffsetDateTime,
    seen: &mut BTreeMap<(String, String), usize>,
) -> String {
    let at = |m: i64| t0 + Duration::minutes(m);
    let (real, reply) = catalogue(e, &format!("rec/{REAL}.webm"), vec![7; 5000], at(-10)).await;
    tally(&reply, seen);
    for m in [3, 4, 6] {
        tail_at(e, at(m), seen).await;
    }
    real
}

/// The notifications of one type in `seen`: each id with how often it came.
pub(super) fn of_kind(
    seen: &BTreeMap<(String, String), usize>,
    kind: &str,
) -> Vec<(String, usize)> {
    seen.iter()
        .filter(|((k, _), _)| k == kind)
        .map(|((_, id), n)| (id.clone(), *n))
        .collect()
}

/// `row` is a suspect match for `reason` that keeps the session it claims (`claim`) as its
/// candidate.
pub(super) fn assert_suspect(row: &Entity, reason: &str, claim: &str) {
    assert_eq!(
        (get_str(row, "MatchConfidence"), get_str(row, "MatchReason")),
        (Some("suspect"), Some(reason)),
        "{row:?}"
    );
    assert_eq!(
        get_str(row, "MatchCandidates"),
        Some(claim),
        "its claim is kept"
    );
}

/// The catalogue's rows, as a lookup of one recording's row by its id.
pub(super) async fn recording_rows(e: &Env) -> impl Fn(&str) -> Entity {
    let rows = e
        .tables
        .query("recordings", None, None, None)
        .await
        .expect("query")
        .items;
    move |id: &str| {
        rows.iter()
            .map(|s| &s.entity)
            .find(|r| get_str(r, "RecordingId") == Some(id))
            .cloned()
            .expect("row")
    }
}

/// The handler with the product's default minimum size and vouching lag, the grace short so the
/// unrecorded alert is due in the test.
pub(super) async fn spawn(cs: &str) -> Env {
    let az = AzuriteEnv::new(cs);
    let mut pairs = az.pairs();
    pairs.retain(|(k, _)| !matches!(*k, "RECORDING_MIN_BYTES" | "RECORDING_VOUCH_LAG_HOURS"));
    pairs.extend([
        ("RECORDING_MIN_BYTES", "4096"),
        ("RECORDING_VOUCH_LAG_HOURS", "24"),
        ("UNRECORDED_GRACE_MINUTES", "1"),
    ]);
    let handler = HandlerProcess::spawn(&pairs).await;
    Env::with(cs, az, handler)
}

/// Creates and registers the audit hour blob of `hour`, then appends `text` to it.
pub(super) async fn audit_hour(e: &Env, hour: OffsetDateTime, text: String) {
    let path = format!(
        "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-PLANT/y={}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
        hour.year(),
        u8::from(hour.month()),
        hour.day(),
        hour.hour()
    );
    let logs = e.logs();
    let blob = BlobRef::new(logs.clone(), path.clone());
    e.blobs
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    let created = event_invocation("invocations/auditlog-created.invocation.json", &logs, &path);
    let (status, reply) = e.handler.invoke("AuditLogCreated", &created).await;
    assert_eq!(status, 200, "{reply}");
    e.blobs
        .append(&blob, Bytes::from(text))
        .await
        .expect("append");
}

/// A blob of recording size naming a session that ended 30 hours before it was uploaded (beyond
/// the default 24-hour vouching lag) does not vouch for it, although its event claims a time
/// within the session's window: the service's creation time decides. It is `suspect`
/// (`outside-window`), alerted once; the session stays unrecorded and is alerted once. A
/// recording uploaded now for a session that ended 20 minutes ago is exact, as before.
#[tokio::test]
async fn a_blob_uploaded_long_after_its_sessions_end_does_not_vouch_for_it() {
    let Some(cs) = harness::azurite() else { return };
    let e = spawn(&cs).await;
    let t0 = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let t = |m: i64| t0 + Duration::minutes(m);
    let (start, end) = (t(-31 * 60), t(-30 * 60));
    let text = session(LATE, start, end, "vm-c") + &session(REAL, t(-30), t(-20), "vm-b");
    audit_hour(&e, start, text).await;
    let mut seen = BTreeMap::new();
    tail_at(&e, t(0), &mut seen).await;
    let name = format!("rec/{LATE}.webm");
    let claimed = end + Duration::minutes(5);
    let (late, reply) = catalogue(&e, &name, vec![7; 5000], claimed).await;
    tally(&reply, &mut seen);
    let real = real_recording_then_tails(&e, t0, &mut seen).await;

    let row = recording_rows(&e).await;
    let l = row(&late);
    assert_suspect(&l, "outside-window", LATE);
    let created = get_str(&l, "BlobCreationTime")
        .and_then(|c| OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| panic!("the service's creation time in {l:?}"));
    assert!(
        created >= t0 - Duration::minutes(1),
        "{created} is the upload's"
    );
    assert_eq!(get_str(&row(&real), "MatchConfidence"), Some("exact"));

    for (tunnel, day, recorded) in [(LATE, start, false), (REAL, t(-30), true)] {
        let day = bastion_recordings::dates::format_date(day.date());
        let (status, body) = e
            .handler
            .get_json(&format!("/api/sessions?from={day}&to={day}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let item = body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["sessionId"] == tunnel).cloned())
            .unwrap_or_else(|| panic!("{tunnel} in {body}"));
        assert_eq!(item["recorded"], recorded, "{item}");
    }
    let (status, detail) = e.handler.get_json(&format!("/api/recordings/{late}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["recording"]["matchReason"], "outside-window",
        "{detail}"
    );

    let count = |kind: &str| of_kind(&seen, kind);
    let suspect = count("recording.suspect");
    assert_eq!(suspect.len(), 1, "one alert: {seen:?}");
    assert_eq!(suspect[0].1, 1, "sent once across ticks: {seen:?}");
    let unrecorded = count("session.unrecorded");
    assert_eq!(unrecorded.len(), 1, "the late-named session only: {seen:?}");
}
