//! The queue over the in-memory tables with `sessionwindows` rows as the tail writes them: ranking
//! and reasons, a review withdrawing its session, a changed session re-ranked (its old row gone),
//! and `review.overdue` raised once however many runs race.

use serde_json::json;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::index::refresh;
use super::overdue::overdue;
use super::read::{to_json, top};
use crate::dates::format_utc_millis;
use crate::ports::Ports;
use crate::reviews::hours::WorkingHours;
use crate::reviews::model::{Kind, Subject, Verdict};
use crate::reviews::{ReviewRequest, ReviewSettings, record};
use crate::tables::ops::write_creating_table;
use crate::tables::{TableStore, WriteMode};
use crate::testkit::fakes;

pub(super) fn settings() -> ReviewSettings {
    ReviewSettings {
        working_hours: WorkingHours::parse("Mon-Fri 08:00-18:00 Europe/Berlin").expect("hours"),
        ..ReviewSettings::default()
    }
}

pub(super) struct S<'a> {
    pub(super) tunnel: &'a str,
    pub(super) user: &'a str,
    pub(super) vm: &'a str,
    pub(super) start: OffsetDateTime,
    pub(super) minutes: Option<i64>,
    pub(super) outcome: &'a str,
    pub(super) recorded: bool,
}

pub(super) async fn put(t: &dyn TableStore, s: &S<'_>) {
    let end = s
        .minutes
        .map(|m| format_utc_millis(s.start + time::Duration::minutes(m)))
        .unwrap_or_default();
    let e = json!({"PartitionKey": crate::dates::format_date(s.start.date()), "RowKey": s.tunnel,
        "Start": format_utc_millis(s.start), "End": end, "BastionHost": "bas-1", "TargetVm": s.vm,
        "UserName": s.user, "ClientIp": "198.51.100.7", "Outcome": s.outcome, "Recorded": s.recorded});
    write_creating_table(
        t,
        "sessionwindows",
        e.as_object().expect("obj"),
        WriteMode::Upsert,
    )
    .await
    .expect("window");
}

/// `s` with no recording naming it.
pub(super) fn unrecorded(s: S<'_>) -> S<'_> {
    S {
        recorded: false,
        ..s
    }
}

pub(super) fn ok<'a>(
    tunnel: &'a str,
    user: &'a str,
    vm: &'a str,
    start: OffsetDateTime,
    minutes: i64,
) -> S<'a> {
    S {
        tunnel,
        user,
        vm,
        start,
        minutes: Some(minutes),
        outcome: "connected",
        recorded: true,
    }
}

/// 2025-03-10: earlier sessions of alice, carol, dave, erin; 2025-03-14 (a Friday, UTC+1 in
/// Berlin): one session per signal.
pub(super) async fn seed(ports: &Ports) {
    let t = ports.tables.as_ref();
    for (tunnel, user, vm) in [
        ("p1", "alice", "vm-a"),
        ("p2", "carol", "vm-b"),
        ("p3", "dave", "vm-b"),
        ("p4", "erin", "vm-c"),
    ] {
        put(
            t,
            &ok(tunnel, user, vm, datetime!(2025-03-10 10:00 UTC), 10),
        )
        .await;
    }
    let day = datetime!(2025-03-14 00:00 UTC);
    let at = |h: i64, m: i64| day + time::Duration::minutes(h * 60 + m);
    put(t, &ok("a", "alice", "vm-a", at(10, 0), 30)).await;
    put(t, &ok("b", "bob", "vm-a", at(10, 0), 20)).await;
    put(t, &ok("c", "carol", "vm-b", at(22, 0), 10)).await;
    put(t, &unrecorded(ok("d", "dave", "vm-b", at(11, 0), 10))).await;
    put(t, &ok("e", "erin", "vm-c", at(9, 0), 360)).await;
    for i in 0..5 {
        let tunnel = format!("fail{i}");
        put(
            t,
            &S {
                minutes: None,
                outcome: "login-failed",
                ..ok(&tunnel, "mallory", "vm-a", at(9, i), 0)
            },
        )
        .await;
    }
    put(t, &ok("f", "mallory", "vm-a", at(9, 5), 10)).await;
}

/// Carol's seeded session of 22:00 on the 14th loses its recording.
pub(super) async fn carol_loses_her_recording(t: &dyn TableStore) {
    let start = datetime!(2025-03-14 22:00 UTC);
    put(t, &unrecorded(ok("c", "carol", "vm-b", start, 10))).await;
}

pub(super) async fn queue_of(
    ports: &Ports,
    now: OffsetDateTime,
) -> Vec<(String, u64, Vec<String>)> {
    top(ports.tables.as_ref(), 100, None)
        .await
        .expect("queue")
        .iter()
        .map(|e| to_json(e, now))
        .map(|v| {
            let reasons = v["reasons"]
                .as_array()
                .expect("reasons")
                .iter()
                .map(|r| r.as_str().unwrap_or_default().to_owned())
                .collect();
            (
                v["sessionId"].as_str().unwrap_or_default().to_owned(),
                v["score"].as_u64().unwrap_or_default(),
                reasons,
            )
        })
        .collect()
}

#[tokio::test]
async fn sessions_are_ranked_by_risk_with_reasons_and_reviews_withdraw_them() {
    let f = fakes();
    let ports = &f.state.ports;
    seed(ports).await;
    let now = datetime!(2025-03-14 23:30 UTC);
    let s = settings();
    refresh(ports, &s, &[date!(2025 - 03 - 10)], now)
        .await
        .expect("refresh 10th");
    let done = refresh(
        ports,
        &s,
        &[date!(2025 - 03 - 13), date!(2025 - 03 - 14)],
        now,
    )
    .await
    .expect("refresh");
    assert_eq!((done.sessions, done.changed), (11, 11));
    let q: Vec<_> = queue_of(ports, now)
        .await
        .into_iter()
        .filter(|(t, _, _)| !t.starts_with('p'))
        .collect();
    let r = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        q,
        vec![
            (
                "f".into(),
                55,
                r(&["failed-login-burst", "first-to-vm-in-30-days"])
            ),
            ("fail4".into(), 40, r(&["failed-login-burst"])),
            ("d".into(), 30, r(&["unrecorded"])),
            ("c".into(), 20, r(&["outside-working-hours"])),
            ("b".into(), 15, r(&["first-to-vm-in-30-days"])),
            ("e".into(), 10, r(&["long-session"])),
        ]
    );
    // Nothing changed: a second tick re-derives nothing.
    let again = refresh(ports, &s, &[date!(2025 - 03 - 14)], now)
        .await
        .expect("refresh");
    assert_eq!(again.changed, 0);

    // A review takes its session out at once.
    let req = ReviewRequest {
        subject: Subject {
            kind: Kind::Session,
            id: "d".into(),
        },
        verdict: Verdict::FollowUp,
        comment: "who is dave".into(),
        ticket: String::new(),
        idempotency_key: None,
    };
    write_creating_table(ports.tables.as_ref(), "sessions",
        json!({"PartitionKey": "d", "RowKey": "session", "SessionStart": "2025-03-14T11:00:00.000Z"}).as_object().expect("obj"),
        WriteMode::Upsert).await.expect("session");
    record(ports, &req, "rev@contoso.com")
        .await
        .expect("review");
    assert!(!queue_of(ports, now).await.iter().any(|(t, _, _)| t == "d"));

    // Carol's session loses its recording: re-ranked, its old row gone.
    carol_loses_her_recording(ports.tables.as_ref()).await;
    let later = refresh(ports, &s, &[date!(2025 - 03 - 14)], now)
        .await
        .expect("refresh");
    assert_eq!(later.changed, 2, "carol's changed, dave's is now reviewed");
    let q = queue_of(ports, now).await;
    let carol: Vec<_> = q.iter().filter(|(t, _, _)| t == "c").collect();
    assert_eq!(carol.len(), 1);
    assert_eq!(
        (carol[0].1, carol[0].2.clone()),
        (50, r(&["unrecorded", "outside-working-hours"]))
    );
    assert!(
        !q.iter().any(|(t, _, _)| t == "d"),
        "a refresh does not bring a reviewed session back"
    );
}

#[tokio::test]
async fn overdue_is_raised_once_however_many_runs_race() {
    let f = fakes();
    let ports = &f.state.ports;
    seed(ports).await;
    let s = settings();
    refresh(
        ports,
        &s,
        &[date!(2025 - 03 - 14)],
        datetime!(2025-03-14 23:30 UTC),
    )
    .await
    .expect("refresh");
    let t = ports.tables.as_ref();
    assert!(
        overdue(t, 24, datetime!(2025-03-15 09:00 UTC))
            .await
            .expect("none yet")
            .is_empty()
    );
    // At 2025-03-15 11:00, the queued sessions that ended by 2025-03-14 11:00 are past 24 hours
    // (alice's is queued here: without the 10th, it is her first to the VM).
    let now = datetime!(2025-03-15 11:00 UTC);
    let (a, b) = tokio::join!(overdue(t, 24, now), overdue(t, 24, now));
    let mut ids: Vec<String> = a
        .expect("a")
        .into_iter()
        .chain(b.expect("b"))
        .map(|n| {
            assert_eq!(n.kind, "review.overdue");
            n.data["tunnelId"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b", "f", "fail4"]);
    assert!(overdue(t, 24, now).await.expect("again").is_empty());
    // An hour later only dave's session (ended 11:10) is newly due.
    let later = overdue(t, 24, now + time::Duration::hours(1))
        .await
        .expect("later");
    let later: Vec<_> = later.iter().map(|n| n.data["tunnelId"].clone()).collect();
    assert_eq!(later, [json!("d")]);
    let n = crate::notify::Notification::new(
        "review.overdue",
        "f",
        String::new(),
        crate::notify::Severity::Warning,
        String::new(),
        json!({}),
    );
    assert_eq!(
        n.notification_id,
        crate::notify::message::stable_id("review.overdue", "f")
    );
}

/// Puts one finding of host `bas-1` in table `estate`, open or resolved.
async fn finding(t: &dyn TableStore, status: &str, severity: &str) {
    let e = json!({"PartitionKey": "host-bas-1", "RowKey": "recording-off",
        "Host": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/Bas-1",
        "HostName": "Bas-1", "Status": status, "Severity": severity, "OpenedAt": "2025-03-14T08:00:00.000Z"});
    write_creating_table(
        t,
        crate::estate::store::ESTATE_TABLE,
        e.as_object().expect("obj"),
        WriteMode::Upsert,
    )
    .await
    .expect("finding");
}

#[tokio::test]
async fn an_open_estate_finding_on_the_host_ranks_its_sessions_until_it_clears() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    seed(ports).await;
    let now = datetime!(2025-03-14 23:30 UTC);
    let s = settings();
    let days = [date!(2025 - 03 - 10), date!(2025 - 03 - 14)];
    let flagged = |q: &[(String, u64, Vec<String>)]| {
        q.iter()
            .filter(|(_, _, r)| r.iter().any(|r| r == "open-estate-finding"))
            .count()
    };
    refresh(ports, &s, &days, now).await.expect("refresh");
    let before = queue_of(ports, now).await;
    assert_eq!(flagged(&before), 0);
    // Informational findings do not count.
    finding(t, "open", "info").await;
    let done = refresh(ports, &s, &days, now).await.expect("info");
    assert_eq!(done.changed, 0, "an info finding changes no session");
    finding(t, "open", "high").await;
    let done = refresh(ports, &s, &days, now).await.expect("open");
    assert_eq!(
        done.changed, done.sessions,
        "every session of the host is re-derived"
    );
    let open = queue_of(ports, now).await;
    assert!(
        open.len() > before.len(),
        "sessions of no other risk are queued now"
    );
    assert_eq!(flagged(&open), open.len(), "{open:?}");
    let score = |q: &[(String, u64, Vec<String>)], id: &str| {
        q.iter().find(|(t, _, _)| t == id).map(|(_, s, _)| *s)
    };
    assert!(score(&open, "d") > score(&before, "d"), "ranked higher");
    finding(t, "resolved", "high").await;
    refresh(ports, &s, &days, now).await.expect("resolved");
    assert_eq!(queue_of(ports, now).await, before, "the queue is as before");
}
