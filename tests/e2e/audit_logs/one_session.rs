//! One recording vouches for one session, end to end on Azurite through the real handler:
//! a recording whose name carries no tunnel id is matched by time to the single best session
//! (the one it mentions, nearest start) and shows `probable`, the others stay unrecorded and are
//! alerted; a tie vouches for none (`ambiguous`, its own review reason); such a match vouches
//! only once the storage logs show the host wrote it (an 8 KiB plant naming no session marks
//! nothing recorded); a session whose end record never arrives is alerted `session.unrecorded`
//! with `ended: unknown` after `SESSION_MAX_HOURS`.

use std::collections::BTreeMap;

use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::get_str;
use bastion_testkit::loganalytics::FakeLogs;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::planted::{audit_hour, catalogue, of_kind, recording_rows, session, tail_at, tally};
use super::support::Env;
use super::writer::{Seen, put_blob, tick};
use crate::harness;

const NEAR: &str = "e1e1e1e1-0000-4000-8000-0000000000a1";
const FAR: &str = "e1e1e1e1-0000-4000-8000-0000000000b2";
const TIE1: &str = "e1e1e1e1-0000-4000-8000-0000000000c3";
const TIE2: &str = "e1e1e1e1-0000-4000-8000-0000000000d4";
const PLANTED: &str = "e1e1e1e1-0000-4000-8000-0000000000e5";
const OPEN: &str = "e1e1e1e1-0000-4000-8000-0000000000f6";
const YOUNG: &str = "e1e1e1e1-0000-4000-8000-0000000000f7";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time")
}

/// The `/api/sessions` items of the start day of `day`, by session id.
pub(super) async fn sessions(e: &Env, day: OffsetDateTime, query: &str) -> BTreeMap<String, Value> {
    let day = bastion_recordings::dates::format_date(day.date());
    let path = format!("/api/sessions?from={day}&to={day}{query}");
    let (status, body) = e.handler.get_json(&path).await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().cloned().unwrap_or_default();
    items
        .into_iter()
        .map(|i| (i["sessionId"].as_str().unwrap_or_default().to_owned(), i))
        .collect()
}

/// A connect record of `tunnel` at `start` to `vm`, with no end record.
fn connect_only(tunnel: &str, start: OffsetDateTime, vm: &str) -> String {
    let full = session(tunnel, start, start + Duration::minutes(1), vm);
    full.lines().next().unwrap_or_default().to_owned() + "\n"
}

#[tokio::test]
async fn a_recording_matched_by_time_vouches_for_the_nearest_session_alone_once_the_host_wrote_it()
{
    let Some(cs) = harness::azurite() else { return };
    let fake = FakeLogs::default();
    let e = super::writer::spawn(&cs, &fake).await;
    let t0 = now();
    let t = |m: i64| t0 + Duration::minutes(m);
    let text = session(NEAR, t(-30), t(-20), "vm-x")
        + &session(FAR, t(-45), t(-20), "vm-x")
        + &session(TIE1, t(-30), t(-20), "vm-t")
        + &session(TIE2, t(-30), t(-20), "vm-t");
    audit_hour(&e, t0 - Duration::hours(1), text).await;
    let mut seen = Seen::default();
    tick(&e, "AuditLogTail", t(0), &mut seen).await;
    let container = e.env.recordings().to_owned();
    let mut ids = Vec::new();
    for name in ["rec/vm-x/session.webm", "rec/vm-t/session.webm"] {
        let (id, reply) = catalogue(&e, name, vec![7; 8192], t(-10)).await;
        tally(&reply, &mut seen.ids);
        let blob = BlobRef::new(container.clone(), name.to_owned());
        let etag = e.blobs.properties(&blob).await.expect("props").etag;
        ids.push((id, name, etag));
    }
    // Catalogued, matched by time: no vouching until the logs show who wrote them.
    let row = recording_rows(&e).await;
    let r = row(&ids[0].0);
    assert_eq!(
        (get_str(&r, "MatchConfidence"), get_str(&r, "MatchReason")),
        (Some("suspect"), Some("writer-unconfirmed")),
        "{r:?}"
    );
    for (_, name, etag) in &ids {
        put_blob(&fake, &e, name, etag, "SAS", "20.50.2.9:443", t(-10));
    }
    let custody = |m: i64| OffsetDateTime::now_utc() + Duration::minutes(m);
    tick(&e, "CustodyActor", custody(1), &mut seen).await;
    for m in [3, 4, 6] {
        tick(&e, "AuditLogTail", t(m), &mut seen).await;
    }

    let row = recording_rows(&e).await;
    let x = row(&ids[0].0);
    assert_eq!(
        (get_str(&x, "MatchConfidence"), get_str(&x, "TunnelId")),
        (Some("probable"), Some(NEAR)),
        "the nearest start: {x:?}"
    );
    let tie = row(&ids[1].0);
    assert_eq!(get_str(&tie, "MatchConfidence"), Some("ambiguous"));
    assert_eq!(get_str(&tie, "TunnelId"), None, "a tie names no session");

    let s = sessions(&e, t(-30), "").await;
    let state = |id: &str| (s[id]["recorded"].clone(), s[id]["matchConfidence"].clone());
    assert_eq!(state(NEAR), (json!(true), json!("probable")));
    assert_eq!(
        state(FAR),
        (json!(false), Value::Null),
        "the farther start stays unrecorded"
    );
    for tied in [TIE1, TIE2] {
        assert_eq!(state(tied), (json!(false), json!("ambiguous")));
    }
    let probable = sessions(&e, t(-30), "&status=probable").await;
    assert_eq!(probable.keys().collect::<Vec<_>>(), [NEAR]);
    let (status, listed) = e
        .handler
        .get_json(&format!("/api/recordings/{}", ids[0].0))
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["recording"]["matchConfidence"], "probable",
        "{listed}"
    );

    let alerted = of_kind(&seen.ids, "session.unrecorded");
    assert_eq!(alerted.len(), 3, "{alerted:?}");
    assert!(
        alerted.iter().all(|(_, n)| *n == 1),
        "each once: {alerted:?}"
    );
    let rows = e
        .tables
        .query("sessionwindows", None, None, None)
        .await
        .expect("query")
        .items;
    let notified = |id: &str| {
        rows.iter()
            .find(|r| get_str(&r.entity, "RowKey") == Some(id))
            .and_then(|r| r.entity.get("UnrecordedNotified").cloned())
    };
    assert_eq!(
        notified(NEAR),
        Some(json!(false)),
        "the recorded one is not alerted"
    );
    for id in [FAR, TIE1, TIE2] {
        assert_eq!(notified(id), Some(json!(true)), "{id}");
    }
    assert!(seen.suspect.is_empty(), "no plant here: {:?}", seen.suspect);

    // The review queue names the tie apart from a session no recording names.
    let tie = queue_reasons(&e, t(7), TIE1).await;
    assert!(tie.contains(&json!("recording-ambiguous")), "{tie:?}");
    assert!(
        queue_reasons(&e, t(7), FAR)
            .await
            .contains(&json!("unrecorded"))
    );
}

/// The reasons `GET /api/reviews/queue` gives session `id` once `ReviewQueue` ran at `at`.
pub(super) async fn queue_reasons(e: &Env, at: OffsetDateTime, id: &str) -> Vec<Value> {
    let mut inv = harness::fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("ReviewQueue");
    inv["Metadata"]["sys"]["UtcNow"] = json!(super::planted::utc(at));
    let (status, reply) = e.handler.invoke("ReviewQueue", &inv).await;
    assert_eq!(status, 200, "{reply}");
    let (status, queue) = e.handler.get_json("/api/reviews/queue").await;
    assert_eq!(status, 200, "{queue}");
    queue["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["sessionId"] == id))
        .and_then(|i| i["reasons"].as_array().cloned())
        .unwrap_or_else(|| panic!("{id} in {queue}"))
}

/// An 8 KiB blob naming no session, created during one, with no log row showing the host wrote
/// it: the session stays unrecorded and is alerted once; the blob is not alerted by itself.
#[tokio::test]
async fn a_blob_naming_no_session_does_not_vouch_until_the_logs_show_the_host_wrote_it() {
    let Some(cs) = harness::azurite() else { return };
    let e = super::planted::spawn(&cs).await;
    let t0 = now();
    let t = |m: i64| t0 + Duration::minutes(m);
    audit_hour(
        &e,
        t0 - Duration::hours(1),
        session(PLANTED, t(-30), t(-20), "vm-p"),
    )
    .await;
    let mut seen = BTreeMap::new();
    tail_at(&e, t(0), &mut seen).await;
    let (plant, reply) = catalogue(&e, "notes/vm-p.bin", vec![b'x'; 8192], t(-10)).await;
    tally(&reply, &mut seen);
    for m in [3, 4, 6] {
        tail_at(&e, t(m), &mut seen).await;
    }
    let p = recording_rows(&e).await(&plant);
    assert_eq!(
        get_str(&p, "MatchReason"),
        Some("writer-unconfirmed"),
        "{p:?}"
    );
    assert_eq!(
        get_str(&p, "MatchCandidates"),
        Some(PLANTED),
        "its claim kept"
    );
    let s = sessions(&e, t(-30), "").await;
    assert_eq!(s[PLANTED]["recorded"], false, "{}", s[PLANTED]);
    let unrecorded = of_kind(&seen, "session.unrecorded");
    assert_eq!(unrecorded.len(), 1, "{seen:?}");
    assert!(of_kind(&seen, "recording.suspect").is_empty(), "{seen:?}");
}

/// A successful session whose end record never arrives: alerted once `SESSION_MAX_HOURS` (24 by
/// default) after its start, with `ended: unknown`; one younger than that is not.
#[tokio::test]
async fn a_session_whose_end_never_arrives_is_alerted_after_the_longest_session() {
    let Some(cs) = harness::azurite() else { return };
    let e = super::planted::spawn(&cs).await;
    let t0 = now();
    let started = t0 - Duration::hours(25);
    audit_hour(&e, started, connect_only(OPEN, started, "vm-o")).await;
    let young = t0 - Duration::hours(2);
    audit_hour(&e, young, connect_only(YOUNG, young, "vm-y")).await;
    let mut sent = Vec::new();
    for m in [0, 2, 3] {
        let mut inv = super::support::tick_invocation();
        inv["Metadata"]["sys"]["UtcNow"] = json!(super::planted::utc(t0 + Duration::minutes(m)));
        let (status, reply) = e.handler.invoke("AuditLogTail", &inv).await;
        assert_eq!(status, 200, "{reply}");
        let out = reply["Outputs"]["notifications"].clone();
        sent.extend(match out {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            one => vec![one],
        });
    }
    let s = sessions(&e, started, "").await;
    assert_eq!(s[OPEN]["end"], Value::Null, "{}", s[OPEN]);
    let unrecorded: Vec<&Value> = sent
        .iter()
        .filter(|n| n["type"] == "session.unrecorded")
        .collect();
    assert_eq!(unrecorded.len(), 1, "the old one, once: {sent:?}");
    let data = &unrecorded[0]["data"];
    assert_eq!(
        (data["tunnelId"].as_str(), data["ended"].as_str()),
        (Some(OPEN), Some("unknown")),
        "{data}"
    );
    assert_eq!(data["sessionEnd"], Value::Null);
}
