//! The differential test through the real handler on Azurite: the same audit records archived as
//! a `PT1H.json` blob (estate A), delivered through the workspace (B), or both (C) give the same
//! session rows, the same join of a recording to its session and the same notifications under
//! the same ids; through both, nothing is doubled. The records lie on the last day
//! ([`sample_day`]): the recording Azurite creates now vouches only for a session that ended
//! within `RECORDING_VOUCH_LAG_HOURS`.

use serde_json::Value;
use time::Duration;

use super::rig::{Rec, WsRig, distinct, failed, fresh, session, sessions_on, tick};
use crate::harness::{HandlerProcess, sample_date, sample_day};

/// `minute` minutes after 09:00 on the sample day.
fn at(minute: i64) -> time::OffsetDateTime {
    sample_day()
        .with_time(time::macros::time!(09:00))
        .assume_utc()
        + Duration::minutes(minute)
}

/// The timer's "now" of the first ticks (the records lie in the hour before).
fn t() -> time::OffsetDateTime {
    at(150)
}

/// A recorded session, an unrecorded one and a burst of failed logins.
fn records() -> Vec<Rec> {
    let mut v = vec![session(1, "alice", at(5)), session(2, "bob", at(12))];
    v.extend((0..6).map(|n| failed(n, "mallory", at(30 + i64::from(n)))));
    v
}

/// What an estate ends with: its session rows, the recording's join and its notifications.
#[derive(Debug, PartialEq)]
struct Seen {
    sessions: Vec<Value>,
    recording: Value,
    notifications: std::collections::BTreeSet<(String, String)>,
    raised: usize,
}

async fn estate(w: &WsRig, logs: &str, archive: bool, workspace: bool, rec: &str) -> Seen {
    let env = w.env(&fresh("d"), logs, workspace, &[]);
    let h = WsRig::spawn(&env).await;
    let recs = records();
    if archive {
        w.archive(&h, logs, &recs).await;
    }
    let mut raised = Vec::new();
    let t = t();
    for now in [t, t + Duration::minutes(40)] {
        if archive {
            raised.extend(tick(&h, "AuditLogTail", now).await);
        }
        if workspace {
            raised.extend(tick(&h, "AuditLogQuery", now).await);
        }
        if now == t {
            // Bob's session is recorded: the recording names his tunnel.
            raised.extend(catalogue(w, &h, rec).await);
        }
    }
    let sessions: Vec<Value> = sessions_on(&h, &sample_date(0))
        .await
        .into_iter()
        .map(strip)
        .collect();
    // The recording's own row, through the session that names it.
    let id = sessions
        .iter()
        .find_map(|s| s["recordingId"].as_str())
        .unwrap_or_else(|| panic!("a recorded session: {sessions:?}"))
        .to_owned();
    let (status, doc) = h.get_json(&format!("/api/recordings/{id}")).await;
    assert_eq!(status, 200, "{doc}");
    let recording = strip(doc);
    Seen {
        sessions,
        recording,
        notifications: distinct(&raised),
        raised: raised.len(),
    }
}

/// Without what differs between two estates by construction, at any depth: the signed download
/// link and when this estate first saw the recording (times of the run), and the raw evidence
/// (`LastRaw`: each source keeps its own record form, as docs/workspaces.md says).
fn strip(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for k in [
                    "download",
                    "FirstSeen",
                    "JoinDue",
                    "LastRaw",
                    "Timestamp",
                    "etag",
                ] {
                    o.remove(k);
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

async fn catalogue(w: &WsRig, h: &HandlerProcess, name: &str) -> Vec<(String, String)> {
    let mut created = w.rig.event(
        "invocations/recording-created.invocation.json",
        &w.rig.recordings,
        name,
    );
    // Uploaded as Bastion does, right after the session ended.
    created["Data"]["eventGridEvent"]["eventTime"] =
        serde_json::json!(bastion_recordings::dates::format_utc(at(18)));
    let (s, out) = h.invoke("RecordingCreated", &created).await;
    assert_eq!(s, 200, "{out}");
    super::rig::notifications(&out)
}

#[tokio::test]
async fn the_same_records_as_blobs_or_through_the_workspace_give_the_same_rows_joins_and_notifications()
 {
    let Some(w) = WsRig::start().await else {
        return;
    };
    let recs = records();
    w.ingest(&recs, t() - Duration::minutes(60));
    let name = format!("vm-app-02/{}.webm", recs[1].tunnel);
    w.rig.put_blob(&w.rig.recordings, &name, b"recording").await;
    let archived = fresh("logs");
    let a = estate(&w, &archived, true, false, &name).await;
    let b = estate(&w, &fresh("nologs"), false, true, &name).await;
    let c = estate(&w, &archived, true, true, &name).await;

    let kinds: Vec<&str> = a.notifications.iter().map(|(k, _)| k.as_str()).collect();
    assert!(kinds.contains(&"session.unrecorded"), "{a:?}");
    assert!(kinds.contains(&"login.failed.burst"), "{a:?}");
    let recorded: Vec<&Value> = a
        .sessions
        .iter()
        .filter(|s| s["recorded"] == true)
        .collect();
    assert_eq!(recorded.len(), 1, "{a:?}");
    assert_eq!(
        recorded[0]["sessionId"],
        recs[1].tunnel.as_str(),
        "bob's session is recorded"
    );
    assert!(
        a.recording.to_string().contains(&recs[1].tunnel),
        "the recording's row names bob's session: {a:?}"
    );
    // Through the workspace, the same as from the archive.
    assert_eq!(b.sessions, a.sessions, "session rows");
    assert_eq!(b.recording, a.recording, "the recording's join");
    assert_eq!(b.notifications, a.notifications, "notification ids");
    assert_eq!(b.raised, a.raised, "notifications raised");
    assert_eq!(c.sessions, a.sessions, "through both: no session doubled");
    assert_eq!(c.recording, a.recording, "through both: the same join");
    assert_eq!(
        c.notifications, a.notifications,
        "through both: the same ids, none new"
    );
    w.assert_identity_tokens();
}
