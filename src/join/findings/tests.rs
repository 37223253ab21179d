//! The join's findings: which rows and sessions are due, their marks and their notifications.

use time::macros::datetime;

use serde_json::{Value, json};

use super::suspect::*;
use super::unrecorded::{unrecorded_due, unrecorded_finding};
use crate::catalogue::doubt::Doubt;
use crate::catalogue::recording::{Confidence, Joined, Match, Recording};
use crate::spine::Severity;

fn suspect(d: Doubt) -> Recording {
    let mut r =
        crate::testkit::audit::recording_row("notes/x.txt", datetime!(2025-03-14 10:00 UTC));
    r.etag = "0x1".into();
    r.content_length = 1;
    r.below_min_bytes = Some(4096);
    r.joined = Some(Joined {
        m: Match {
            confidence: Confidence::Suspect(d),
            tunnels: vec!["t1".into()],
        },
        session: None,
    });
    r
}

#[test]
fn due_once_per_content_with_a_stable_id() {
    let r = suspect(Doubt::TooSmall);
    assert!(is_due(&r));
    let m = marked(&r);
    assert!(!is_due(&m), "alerted for this ETag");
    let mut replaced = m.clone();
    replaced.etag = "0x2".into();
    assert!(is_due(&replaced), "new content, new alert");
    let n = finding(&r).told();
    assert_eq!(n.notification_id, finding(&m).told().notification_id);
    assert_ne!(n.notification_id, finding(&replaced).told().notification_id);
    assert_eq!(
        (n.kind.as_str(), n.severity),
        ("recording.suspect", Severity::Critical)
    );
    assert_eq!(n.data["reason"], "too-small");
    assert_eq!(n.data["tunnelIds"], json!(["t1"]));
    let mut late = suspect(Doubt::OutsideWindow);
    late.created = Some(datetime!(2025-03-20 10:00 UTC));
    let n = finding(&late).told();
    assert_eq!(n.data["reason"], "outside-window");
    assert_eq!(n.data["blobCreationTime"], "2025-03-20T10:00:00Z");
    assert!(
        n.data["reasonText"]
            .as_str()
            .is_some_and(|t| t.contains("created 2025-03-20T10:00:00Z")),
        "{}",
        n.data["reasonText"]
    );
    let n = finding(&r).told();
    assert!(
        n.data["reasonText"]
            .as_str()
            .is_some_and(|t| t.contains("4096"))
    );
    assert_eq!(n.data["writer"], Value::Null, "no writer read");
    let mut keyed = suspect(Doubt::OtherWriter);
    keyed.writer = Some(crate::catalogue::writer::Writer {
        etag: "0x1".into(),
        operation: "PutBlob".into(),
        authentication: "AccountKey".into(),
        caller_ip: "203.0.113.7:50112".into(),
        ..Default::default()
    });
    let n = finding(&keyed).told();
    assert_eq!(n.data["reason"], "written-by-other-principal");
    assert_eq!(n.data["writer"]["authenticationType"], "AccountKey");
    assert_eq!(n.data["writer"]["callerIpAddress"], "203.0.113.7:50112");
    assert!(
        n.data["reasonText"]
            .as_str()
            .is_some_and(|t| t.contains("AccountKey") && t.contains("203.0.113.7:50112")),
        "{}",
        n.data["reasonText"]
    );
    let mut exact = r.clone();
    exact.joined = Some(Joined {
        m: Match {
            confidence: Confidence::Exact,
            tunnels: vec!["t1".into()],
        },
        session: None,
    });
    assert!(!is_due(&exact), "only suspect rows");
}

/// A session whose end record never arrives is judged the longest session after its start, as
/// one that ended is judged the grace after its end arrived: unrecorded, it is due, with
/// `ended: unknown`; recorded, pending or failed, it is not.
#[test]
fn an_unrecorded_session_without_an_end_is_due_after_the_longest_session() {
    use crate::catalogue::days::DayRow;
    use time::macros::datetime;
    let mut s = crate::catalogue::session::SessionRecord::new("t-open");
    s.session_start = Some(datetime!(2025-03-14 09:00 UTC));
    s.outcome = "connected".into();
    s.target_vm = "vm-1".into();
    let open = DayRow::of(&s).expect("row");
    let waits = (time::Duration::minutes(30), time::Duration::hours(24));
    let at = |h: i64| datetime!(2025-03-14 09:00 UTC) + time::Duration::hours(h);
    assert!(!unrecorded_due(&open, at(23), waits));
    assert!(unrecorded_due(&open, at(24), waits));
    let mut recorded = open.clone();
    recorded.recorded = true;
    let mut pending = open.clone();
    pending.pending = Some(crate::catalogue::days::Span::at(at(1)));
    let mut failed = open.clone();
    failed.outcome = "login-failed".into();
    for row in [recorded, pending, failed] {
        assert!(!unrecorded_due(&row, at(48), waits), "{row:?}");
    }
    let n = unrecorded_finding(&open, None).told();
    assert_eq!(n.data["ended"], "unknown");
    assert!(n.data["sessionEnd"].is_null());
    let mut ended = open;
    ended.end = Some(at(1));
    ended.end_arrived_at = Some(at(1));
    assert!(!unrecorded_due(&ended, at(1), waits), "within the grace");
    assert!(unrecorded_due(&ended, at(2), waits));
    assert_eq!(unrecorded_finding(&ended, None).evidence["ended"], "logged");
}
