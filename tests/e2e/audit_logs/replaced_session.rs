//! A replaced recording keeps its session, end to end on Azurite through the real handler, the
//! custody workspace answered by the Log Analytics fake: Alice's recording, logged written
//! through the host's SAS, is overwritten with other bytes logged written with the account key.
//! It stays joined to her session with her person and VM (the recording, `/api/recordings`, the
//! pack's `custody.csv`); the session shows `recordingReplaced` (still recorded, never alerted
//! unrecorded), both lists filter on it, and the review queue names `recording-replaced`.

use std::io::Read;

use bastion_recordings::storage::{BlobRef, Metadata};
use bastion_recordings::tables::get_str;
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::one_session::sessions;
use super::planted::{
    audit_hour, catalogue, created_event, of_kind, recording_rows, session, tally,
};
use super::support::Env;
use super::writer::{Seen, put_blob, tick};
use crate::harness;

const ALICE: &str = "f0f0f0f0-0000-4000-8000-0000000000a1";

/// Overwrites `name` with `body` and delivers its `BlobCreated` (a later sequencer) at `at`.
async fn overwrite(e: &Env, name: &str, body: Vec<u8>, at: OffsetDateTime) -> Value {
    let container = e.env.recordings().to_owned();
    let blob = BlobRef::new(container, name.to_owned());
    let bytes = Bytes::from(body);
    let meta = Metadata::new();
    let put = e.blobs.put(&blob, bytes, "application/octet-stream", &meta);
    put.await.expect("overwrite");
    let mut inv = created_event(e, name, at, "9c1e4b2a-701e-0012-3c4d-a1b2c3060aff");
    let ev = &mut inv["Data"]["eventGridEvent"];
    ev["data"]["sequencer"] = json!("0000000000000000000000000001A2B30000000000e00000");
    let (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

/// The file `name` of the evidence pack of the days `from` to `to`.
async fn pack_file(e: &Env, from: &str, to: &str, name: &str) -> String {
    let url = e.handler.url(&format!("/api/evidence?from={from}&to={to}"));
    let res = reqwest::Client::new().get(&url).send().await.expect("pack");
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.expect("bytes").to_vec();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut f = z.by_name(name).expect("in the pack");
    let mut text = String::new();
    f.read_to_string(&mut text).expect("text");
    text
}

#[tokio::test]
async fn a_replaced_recording_keeps_its_session_and_its_person_everywhere() {
    let Some(cs) = harness::azurite() else { return };
    let fake = bastion_testkit::loganalytics::FakeLogs::default();
    let e = super::writer::spawn(&cs, &fake).await;
    let t0 = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let t = |m: i64| t0 + Duration::minutes(m);
    audit_hour(
        &e,
        t0 - Duration::hours(1),
        session(ALICE, t(-30), t(-20), "vm-a"),
    )
    .await;
    let mut seen = Seen::default();
    tick(&e, "AuditLogTail", t(0), &mut seen).await;
    let name = format!("rec/{ALICE}.webm");
    let (id, reply) = catalogue(&e, &name, vec![7; 5000], t(-10)).await;
    tally(&reply, &mut seen.ids);
    let blob = BlobRef::new(e.env.recordings().to_owned(), name.clone());
    let etag = e.blobs.properties(&blob).await.expect("props").etag;
    put_blob(&fake, &e, &name, &etag, "SAS", "20.50.2.9:443", t(-10));
    let custody = |m: i64| OffsetDateTime::now_utc() + Duration::minutes(m);
    tick(&e, "CustodyActor", custody(1), &mut seen).await;
    tick(&e, "AuditLogTail", t(2), &mut seen).await;

    // Overwritten with other bytes by someone holding the account key.
    let reply = overwrite(&e, &name, vec![9; 6000], t(3)).await;
    tally(&reply, &mut seen.ids);
    let forged = e.blobs.properties(&blob).await.expect("props").etag;
    put_blob(
        &fake,
        &e,
        &name,
        &forged,
        "AccountKey",
        "198.51.100.23:50112",
        t(3),
    );
    tick(&e, "CustodyActor", custody(2), &mut seen).await;
    for m in [4, 5, 7] {
        tick(&e, "AuditLogTail", t(m), &mut seen).await;
    }

    let r = recording_rows(&e).await(&id);
    assert!(get_str(&r, "ReplacedEtag").is_some(), "{r:?}");
    assert_eq!(get_str(&r, "WriterAuthType"), Some("AccountKey"));
    assert_eq!(
        (get_str(&r, "MatchConfidence"), get_str(&r, "TunnelId")),
        (Some("exact"), Some(ALICE)),
        "its session kept: {r:?}"
    );
    assert_eq!(
        (get_str(&r, "UserName"), get_str(&r, "TargetVm")),
        (Some("u"), Some("vm-a"))
    );

    // The session's day to the replacement's: one day, or two when the test runs just after
    // midnight (the session yesterday, the overwrite today).
    let from = bastion_recordings::dates::format_date(t(-30).date());
    let to = bastion_recordings::dates::format_date(t(8).date());
    let (status, listed) = e
        .handler
        .get_json(&format!(
            "/api/recordings?from={from}&to={to}&status=replaced"
        ))
        .await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        (
            &items[0]["replaced"],
            &items[0]["userName"],
            &items[0]["targetVm"]
        ),
        (&json!(true), &json!("u"), &json!("vm-a")),
        "{listed}"
    );
    let s = sessions(&e, t(-30), "").await;
    assert_eq!(
        (
            &s[ALICE]["recorded"],
            &s[ALICE]["recordingReplaced"],
            &s[ALICE]["matchConfidence"]
        ),
        (&json!(true), &json!(true), &json!("exact")),
        "{}",
        s[ALICE]
    );
    let replaced = sessions(&e, t(-30), "&status=replaced").await;
    assert_eq!(replaced.keys().collect::<Vec<_>>(), [ALICE]);

    assert_eq!(
        of_kind(&seen.ids, "recording.replaced").len(),
        1,
        "{:?}",
        seen.ids
    );
    assert!(
        of_kind(&seen.ids, "session.unrecorded").is_empty(),
        "{:?}",
        seen.ids
    );
    assert!(seen.suspect.is_empty(), "{:?}", seen.suspect);

    let reasons = super::one_session::queue_reasons(&e, t(8), ALICE).await;
    assert!(
        reasons.contains(&json!("recording-replaced")),
        "{reasons:?}"
    );
    assert!(!reasons.contains(&json!("unrecorded")), "{reasons:?}");

    let csv = pack_file(&e, &from, &to, "custody.csv").await;
    let last = "person,vmUser,vm,bastionHost,sessionStart,sessionEnd,tunnelId,matchConfidence";
    assert!(
        csv.lines().next().is_some_and(|h| h.ends_with(last)),
        "{csv}"
    );
    let row = csv
        .lines()
        .find(|l| l.starts_with("replaced,"))
        .unwrap_or_else(|| panic!("the replacement in {csv}"));
    // The last columns, read from the end (an actor's reason before them is quoted text).
    let tail: Vec<&str> = row.rsplitn(9, ',').take(8).collect();
    assert_eq!(
        (tail[6], tail[5], tail[1], tail[0]),
        ("u", "vm-a", ALICE, "exact"),
        "its VM account, VM and session kept: {csv}"
    );
}
