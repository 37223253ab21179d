//! A recording still being written, end to end on Azurite through the real handler: an append
//! blob whose `BlobCreated` reports 0 bytes is judged once it stops growing, not at the event.
//! One that grows to a recording's size names its session as any recording does (no
//! `recording.suspect`, no `session.unrecorded`); one that stays empty is judged too small once
//! quiet for `RECORDING_UPLOAD_LAG_MINUTES`: alerted once, its session alerted unrecorded once.

use std::collections::BTreeMap;

use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::get_str;
use bytes::Bytes;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::one_session::sessions;
use super::planted::{audit_hour, created_event, of_kind, recording_rows, session, tail_at, tally};
use super::support::Env;
use crate::harness;

const GROWN: &str = "a7a7a7a7-0000-4000-8000-0000000000a1";
const STUCK: &str = "a7a7a7a7-0000-4000-8000-0000000000b2";

/// Creates the append blob `name` and delivers its `BlobCreated` as Event Grid reports an append
/// blob's creation (`PutBlob`, `AppendBlob`, 0 bytes) at `at`; the recording's id.
async fn created_empty(e: &Env, name: &str, at: OffsetDateTime, seen: &mut Seen) -> String {
    let container = e.env.recordings().to_owned();
    let blob = BlobRef::new(container, name.to_owned());
    e.blobs
        .create_append(&blob, "application/octet-stream")
        .await
        .expect("create");
    let mut inv = created_event(e, name, at, &format!("created-{name}"));
    let ev = &mut inv["Data"]["eventGridEvent"];
    ev["data"]["api"] = json!("PutBlob");
    ev["data"]["blobType"] = json!("AppendBlob");
    ev["data"]["contentLength"] = json!(0);
    let (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{reply}");
    tally(&reply, seen);
    reply["Outputs"]["hashRequests"]["recordingId"]
        .as_str()
        .unwrap_or_else(|| panic!("recording id in {reply}"))
        .to_owned()
}

type Seen = BTreeMap<(String, String), usize>;

#[tokio::test]
async fn an_append_blob_announced_empty_is_judged_once_it_stops_growing() {
    let Some(cs) = harness::azurite() else { return };
    let e = super::planted::spawn(&cs).await;
    let t0 = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let t = |m: i64| t0 + Duration::minutes(m);
    let text = session(GROWN, t(-30), t(-20), "vm-g") + &session(STUCK, t(-30), t(-20), "vm-s");
    audit_hour(&e, t0 - Duration::hours(1), text).await;
    let mut seen = Seen::new();
    tail_at(&e, t(0), &mut seen).await;
    let grown = created_empty(&e, &format!("rec/{GROWN}.webm"), t(-25), &mut seen).await;
    let stuck = created_empty(&e, &format!("rec/{STUCK}.webm"), t(-25), &mut seen).await;
    // Bastion appends the rest after the event.
    let blob = BlobRef::new(e.env.recordings().to_owned(), format!("rec/{GROWN}.webm"));
    for _ in 0..4 {
        e.blobs
            .append(&blob, Bytes::from(vec![7u8; 2000]))
            .await
            .expect("append");
    }
    // Ticks while they may still grow: nothing is judged on the empty size.
    for m in [2, 3] {
        tail_at(&e, t(m), &mut seen).await;
    }
    let row = recording_rows(&e).await;
    assert_eq!(
        get_str(&row(&stuck), "MatchConfidence"),
        Some("exact"),
        "not judged yet"
    );
    assert!(of_kind(&seen, "recording.suspect").is_empty(), "{seen:?}");
    // Quiet for longer than the upload lag (30 minutes): the growing rows are looked at on a
    // fifth minute, judged, and joined again.
    let look = t(35)
        .replace_minute((t(35).minute() / 5 + 1) * 5 % 60)
        .expect("minute");
    let look = if look < t(35) {
        look + Duration::hours(1)
    } else {
        look
    };
    for m in [0, 1, 2, 3] {
        tail_at(&e, look + Duration::minutes(m), &mut seen).await;
    }
    let row = recording_rows(&e).await;
    let g = row(&grown);
    assert_eq!(get_str(&g, "Growing"), None, "{g:?}");
    assert_eq!(
        g.get("ContentLength").and_then(|v| v.as_str()),
        Some("8000"),
        "{g:?}"
    );
    assert_eq!(get_str(&g, "MatchConfidence"), Some("exact"), "{g:?}");
    let s = row(&stuck);
    assert_eq!(
        (get_str(&s, "MatchConfidence"), get_str(&s, "MatchReason")),
        (Some("suspect"), Some("too-small")),
        "{s:?}"
    );
    let listed = sessions(&e, t(-30), "").await;
    assert_eq!(listed[GROWN]["recorded"], true, "{}", listed[GROWN]);
    assert_eq!(listed[STUCK]["recorded"], false, "{}", listed[STUCK]);
    let suspect = of_kind(&seen, "recording.suspect");
    assert_eq!(suspect.len(), 1, "the empty one only: {seen:?}");
    let unrecorded = of_kind(&seen, "session.unrecorded");
    assert_eq!(unrecorded.len(), 1, "its session only: {seen:?}");
    assert!(
        unrecorded.iter().chain(&suspect).all(|(_, n)| *n == 1),
        "once: {seen:?}"
    );
}
