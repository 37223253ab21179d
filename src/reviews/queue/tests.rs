//! The queue over the in-memory tables with `sessionwindows` rows as the tail writes them and the
//! record of changed sessions as the join pass keeps it: ranking and reasons, a review withdrawing
//! its session, a changed session re-ranked, a session days late queued and overdue, a failed run
//! losing nothing, late failed logins, estate findings and settings re-scoring, `review.overdue`
//! once however many runs race, and what a run and a read cost.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

use super::derive::refresh;
use super::entry::QUEUE_TABLE;
use super::overdue::overdue;
use super::read::{to_json, top};
use crate::azure::AzureError;
use crate::catalogue::changes::{self, CHANGES_TABLE};
use crate::dates::format_utc_millis;
use crate::ports::Ports;
use crate::reviews::hours::WorkingHours;
use crate::reviews::model::{Kind, Subject, Verdict};
use crate::reviews::{ReviewRequest, ReviewSettings, record};
use crate::spine::Finding;
use crate::state::Raised;
use crate::tables::ops::write_creating_table;
use crate::tables::{TableStore, WriteMode};
use crate::testkit::fakes;
use crate::testkit::tables::intercept::{BeforeTableCall, CountingTables, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;

fn settings() -> ReviewSettings {
    ReviewSettings {
        working_hours: WorkingHours::parse("Mon-Fri 08:00-18:00 Europe/Berlin").expect("hours"),
        ..ReviewSettings::default()
    }
}

struct S<'a> {
    tunnel: &'a str,
    user: &'a str,
    vm: &'a str,
    start: OffsetDateTime,
    minutes: Option<i64>,
    outcome: &'a str,
    recorded: bool,
    host: &'a str,
    target: &'a str,
    ip: &'a str,
}

/// Writes the session's `sessionwindows` row and records it as changed, as a join pass does; a
/// failed login is also stored and checked as the detection does: the bursts it raised.
async fn put(t: &dyn TableStore, s: &S<'_>) -> Vec<Finding> {
    let end = s
        .minutes
        .map(|m| format_utc_millis(s.start + time::Duration::minutes(m)))
        .unwrap_or_default();
    let day = crate::dates::format_date(s.start.date());
    let e = json!({"PartitionKey": day, "RowKey": s.tunnel,
        "Start": format_utc_millis(s.start), "End": end, "BastionHost": s.host, "TargetVm": s.vm,
        "UserName": s.user, "ClientIp": s.ip, "Outcome": s.outcome, "Recorded": s.recorded,
        "TargetResourceId": s.target});
    let row = e.as_object().expect("obj");
    write_creating_table(t, "sessionwindows", row, WriteMode::Upsert)
        .await
        .expect("window");
    changes::record(t, &[(day.clone(), s.tunnel.to_owned())])
        .await
        .expect("recorded");
    if s.outcome != "login-failed" {
        return Vec::new();
    }
    detect(t, s, day).await
}

/// A failed login as the tail stores it for the burst detection, and the detection's check.
async fn detect(t: &dyn TableStore, s: &S<'_>, day: String) -> Vec<Finding> {
    use crate::audit_logs::detect::{failed, unchecked};
    let window = settings().burst_bucket;
    let f = failed::FailedLogin {
        tunnel_id: s.tunnel.into(),
        window: crate::dates::bucket(s.start, window),
        day,
        vm: s.vm.into(),
        user: s.user.into(),
        client_ip: s.ip.into(),
        host: s.host.into(),
    };
    let mut raised = Vec::new();
    failed::store(t, &[&f]).await.expect("attempt");
    for pk in f.partitions() {
        let threshold = settings().burst_threshold;
        let found = unchecked::check(t, &pk, threshold, window).await;
        raised.extend(found.expect("checked"));
    }
    raised
}

fn ok<'a>(
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
        host: "bas-1",
        target: "",
        ip: "198.51.100.7",
    }
}

fn failed<'a>(tunnel: &'a str, user: &'a str, start: OffsetDateTime) -> S<'a> {
    S {
        minutes: None,
        outcome: "login-failed",
        ..ok(tunnel, user, "vm-a", start, 0)
    }
}

/// 2025-03-10: earlier sessions of alice, carol, dave, erin; 2025-03-14 (a Friday, UTC+1 in
/// Berlin): one session per signal.
async fn seed(t: &dyn TableStore) {
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
    let d = ok("d", "dave", "vm-b", at(11, 0), 10);
    put(
        t,
        &S {
            recorded: false,
            ..d
        },
    )
    .await;
    put(t, &ok("e", "erin", "vm-c", at(9, 0), 360)).await;
    // Mallory's failed logins, then her session, from an address of her own.
    let ip = "203.0.113.66";
    for i in 0..5 {
        let tunnel = format!("fail{i}");
        let fail = failed(&tunnel, "mallory", at(9, i));
        put(t, &S { ip, ..fail }).await;
    }
    put(
        t,
        &S {
            ip,
            ..ok("f", "mallory", "vm-a", at(9, 5), 10)
        },
    )
    .await;
}

type Queue = Vec<(String, u64, Vec<String>)>;

async fn queue_of(t: &dyn TableStore, now: OffsetDateTime) -> Queue {
    top(t, 500, None)
        .await
        .expect("queue")
        .iter()
        .map(|e| to_json(e, now))
        .map(|v| {
            let reasons = v["reasons"].as_array().expect("reasons");
            let reasons = reasons
                .iter()
                .map(|r| r.as_str().unwrap_or_default().to_owned());
            (
                v["sessionId"].as_str().unwrap_or_default().to_owned(),
                v["score"].as_u64().unwrap_or_default(),
                reasons.collect(),
            )
        })
        .collect()
}

fn r(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

const NOW: OffsetDateTime = datetime!(2025-03-14 23:30 UTC);

#[tokio::test]
async fn sessions_are_ranked_by_risk_with_reasons_and_reviews_withdraw_them() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    seed(t).await;
    let s = settings();
    let done = refresh(ports, &s, None, &Raised, NOW)
        .await
        .expect("refresh");
    assert_eq!(done.sessions, 15);
    let q: Queue = queue_of(t, NOW).await;
    let q: Queue = q
        .into_iter()
        .filter(|(t, _, _)| !t.starts_with('p'))
        .collect();
    assert_eq!(
        q,
        vec![
            (
                "f".into(),
                55,
                r(&["failed-login-burst", "first-to-vm-in-30-days"])
            ),
            ("fail0".into(), 40, r(&["failed-login-burst"])),
            ("fail1".into(), 40, r(&["failed-login-burst"])),
            ("fail2".into(), 40, r(&["failed-login-burst"])),
            ("fail3".into(), 40, r(&["failed-login-burst"])),
            ("fail4".into(), 40, r(&["failed-login-burst"])),
            ("d".into(), 30, r(&["unrecorded"])),
            ("c".into(), 20, r(&["outside-working-hours"])),
            ("b".into(), 15, r(&["first-to-vm-in-30-days"])),
            ("e".into(), 10, r(&["long-session"])),
        ]
    );
    // Nothing recorded since: nothing derived, and the record is empty.
    assert_eq!(
        refresh(ports, &s, None, &Raised, NOW)
            .await
            .expect("again")
            .sessions,
        0
    );
    assert!(f.tables.dump(CHANGES_TABLE).is_empty());

    // A review takes its session out at once, for good.
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
    let session = json!({"PartitionKey": "d", "RowKey": "session", "SessionStart": "2025-03-14T11:00:00.000Z"});
    write_creating_table(
        t,
        "sessions",
        session.as_object().expect("obj"),
        WriteMode::Upsert,
    )
    .await
    .expect("session");
    record(ports, &req, "rev@contoso.com")
        .await
        .expect("review");
    assert!(!queue_of(t, NOW).await.iter().any(|(t, _, _)| t == "d"));

    // Carol's session loses its recording; dave's changes after his review.
    let c = ok("c", "carol", "vm-b", datetime!(2025-03-14 22:00 UTC), 10);
    put(
        t,
        &S {
            recorded: false,
            ..c
        },
    )
    .await;
    let d = ok("d", "dave", "vm-b", datetime!(2025-03-14 11:00 UTC), 15);
    put(
        t,
        &S {
            recorded: false,
            ..d
        },
    )
    .await;
    let later = refresh(ports, &s, None, &Raised, NOW)
        .await
        .expect("refresh");
    assert_eq!((later.sessions, later.queued), (2, 1));
    let q = queue_of(t, NOW).await;
    let carol: Vec<_> = q.iter().filter(|(t, _, _)| t == "c").collect();
    assert_eq!(carol.len(), 1, "re-ranked, its old row gone: {q:?}");
    assert_eq!(
        (carol[0].1, carol[0].2.clone()),
        (50, r(&["unrecorded", "outside-working-hours"]))
    );
    assert!(
        !q.iter().any(|(t, _, _)| t == "d"),
        "a reviewed session stays out"
    );
}

#[tokio::test]
async fn a_sunday_session_whose_records_arrive_four_days_late_is_queued_and_overdue() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    // Sunday 2025-03-09, 22:30 in Berlin; its records reach the archive on Thursday.
    let sunday = ok("late", "ann", "vm-x", datetime!(2025-03-09 21:30 UTC), 20);
    put(
        t,
        &S {
            recorded: false,
            ..sunday
        },
    )
    .await;
    let thursday = datetime!(2025-03-13 12:00 UTC);
    let done = refresh(ports, &settings(), None, &Raised, thursday)
        .await
        .expect("refresh");
    assert_eq!((done.sessions, done.queued), (1, 1));
    let q = queue_of(t, thursday).await;
    assert_eq!(
        q,
        vec![(
            "late".into(),
            65,
            r(&[
                "unrecorded",
                "outside-working-hours",
                "first-to-vm-in-30-days"
            ])
        )]
    );
    let sent = overdue(t, 24, thursday).await.expect("overdue");
    let ids: Vec<_> = sent
        .iter()
        .map(|n| n.evidence["tunnelId"].clone())
        .collect();
    assert_eq!(ids, [json!("late")]);
    assert!(overdue(t, 24, thursday).await.expect("again").is_empty());
}

/// Refuses every call on the queue's table while `on`.
struct Outage(AtomicBool);

#[async_trait]
impl BeforeTableCall for Outage {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        if self.0.load(Ordering::SeqCst) && call.table() == QUEUE_TABLE && call.op() != "get" {
            return Err(AzureError::Transient("outage".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_run_that_fails_leaves_the_record_and_the_next_run_queues_the_sessions() {
    let inner = Arc::new(InMemoryTables::new());
    let tables = Arc::new(Intercepted::with(
        inner.clone(),
        Outage(AtomicBool::new(true)),
    ));
    let f = fakes();
    let ports = Ports {
        tables: tables.clone(),
        ..f.state.ports.clone()
    };
    seed(tables.as_ref()).await;
    let recorded = inner.dump(CHANGES_TABLE).len();
    assert_eq!(recorded, 15);
    assert!(
        refresh(&ports, &settings(), None, &Raised, NOW)
            .await
            .is_err()
    );
    assert_eq!(inner.dump(CHANGES_TABLE).len(), recorded, "nothing lost");
    tables.hook().0.store(false, Ordering::SeqCst);
    let done = refresh(&ports, &settings(), None, &Raised, NOW)
        .await
        .expect("refresh");
    assert_eq!(done.sessions, 15);
    assert!(
        queue_of(tables.as_ref(), NOW)
            .await
            .iter()
            .any(|(t, _, _)| t == "f")
    );
    assert!(inner.dump(CHANGES_TABLE).is_empty());
}

#[tokio::test]
async fn failed_logins_that_arrive_late_put_the_session_after_them_in_a_burst() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    let at = datetime!(2025-03-14 10:00 UTC);
    put(t, &ok("s", "mallory", "vm-a", at, 10)).await;
    put(
        t,
        &ok(
            "earlier",
            "mallory",
            "vm-a",
            at - time::Duration::days(3),
            10,
        ),
    )
    .await;
    refresh(ports, &settings(), None, &Raised, NOW)
        .await
        .expect("first");
    assert!(!queue_of(t, NOW).await.iter().any(|(t, _, _)| t == "s"));
    // The failed logins before it are read later (another host's archive), in two runs.
    for i in 0..5 {
        put(
            t,
            &failed(
                &format!("x{i}"),
                "mallory",
                at - time::Duration::minutes(5 - i),
            ),
        )
        .await;
        if i == 2 {
            refresh(ports, &settings(), None, &Raised, NOW)
                .await
                .expect("some");
        }
    }
    refresh(ports, &settings(), None, &Raised, NOW)
        .await
        .expect("late");
    let q = queue_of(t, NOW).await;
    let s: Vec<_> = q.iter().filter(|(t, _, _)| t == "s").collect();
    assert_eq!(s, [&("s".into(), 40, r(&["failed-login-burst"]))], "{q:?}");
}

/// Puts one finding of host `bas-1` in table `estate`, open or resolved.
async fn finding(t: &dyn TableStore, status: &str, severity: &str) {
    let e = json!({"PartitionKey": "host-bas-1", "RowKey": "recording-off",
        "Host": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/Bas-1",
        "HostName": "Bas-1", "Status": status, "Severity": severity, "OpenedAt": "2025-03-14T08:00:00.000Z"});
    let table = crate::estate::store::ESTATE_TABLE;
    write_creating_table(t, table, e.as_object().expect("obj"), WriteMode::Upsert)
        .await
        .expect("finding");
}

#[tokio::test]
async fn an_open_estate_finding_on_the_host_ranks_its_sessions_until_it_clears() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    seed(t).await;
    let s = settings();
    let flagged = |q: &Queue| {
        q.iter()
            .filter(|(_, _, r)| r.iter().any(|r| r == "open-estate-finding"))
            .count()
    };
    refresh(ports, &s, None, &Raised, NOW)
        .await
        .expect("refresh");
    let before = queue_of(t, NOW).await;
    assert_eq!(flagged(&before), 0);
    // Informational findings do not count.
    finding(t, "open", "info").await;
    let done = refresh(ports, &s, None, &Raised, NOW).await.expect("info");
    assert_eq!(done.sessions, 0, "an info finding changes no session");
    finding(t, "open", "high").await;
    let done = refresh(ports, &s, None, &Raised, NOW).await.expect("open");
    // The host's queued sessions and its sessions since yesterday (the 14th's).
    assert_eq!(done.sessions, 15, "{done:?}");
    let open = queue_of(t, NOW).await;
    assert!(
        open.len() > before.len(),
        "sessions of no other risk are queued now"
    );
    assert_eq!(flagged(&open), open.len(), "{open:?}");
    let score = |q: &Queue, id: &str| q.iter().find(|(t, _, _)| t == id).map(|(_, s, _)| *s);
    assert_eq!(score(&open, "d"), Some(55), "ranked higher");
    assert_eq!(score(&open, "a"), Some(25));
    finding(t, "resolved", "high").await;
    refresh(ports, &s, None, &Raised, NOW)
        .await
        .expect("resolved");
    assert_eq!(queue_of(t, NOW).await, before, "the queue is as before");
}

#[tokio::test]
async fn new_working_hours_re_score_the_queue() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    seed(t).await;
    refresh(ports, &settings(), None, &Raised, NOW)
        .await
        .expect("office hours");
    let night = ReviewSettings {
        working_hours: WorkingHours::parse("Mon-Sun 20:00-24:00 UTC").expect("hours"),
        ..settings()
    };
    refresh(ports, &night, None, &Raised, NOW)
        .await
        .expect("night shift");
    let q = queue_of(t, NOW).await;
    let reasons = |id: &str| {
        q.iter()
            .find(|(t, _, _)| t == id)
            .map(|(_, _, r)| r.clone())
    };
    assert_eq!(reasons("c"), None, "22:00 is within the new hours: {q:?}");
    assert_eq!(
        reasons("e"),
        Some(r(&["outside-working-hours", "long-session"]))
    );
}

#[tokio::test]
async fn overdue_is_raised_once_however_many_runs_race() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    seed(t).await;
    refresh(ports, &settings(), None, &Raised, NOW)
        .await
        .expect("refresh");
    // The 10th's sessions (their users' first to their VMs) are long due.
    let first = overdue(t, 24, NOW).await.expect("the 10th's");
    let mut ids: Vec<_> = first
        .iter()
        .map(|n| n.evidence["tunnelId"].clone())
        .collect();
    ids.sort_by_key(ToString::to_string);
    assert_eq!(ids, [json!("p1"), json!("p2"), json!("p3"), json!("p4")]);
    let none = overdue(t, 24, datetime!(2025-03-15 09:00 UTC)).await;
    assert!(none.expect("none yet").is_empty());
    // At 2025-03-15 11:00, the queued sessions that ended by 2025-03-14 11:00 are past 24 hours.
    let now = datetime!(2025-03-15 11:00 UTC);
    let (a, b) = tokio::join!(overdue(t, 24, now), overdue(t, 24, now));
    let mut ids: Vec<String> = a
        .expect("a")
        .into_iter()
        .chain(b.expect("b"))
        .map(|n| {
            assert_eq!(n.kind.name, "review.overdue");
            n.evidence["tunnelId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["b", "f", "fail0", "fail1", "fail2", "fail3", "fail4"]);
    assert!(overdue(t, 24, now).await.expect("again").is_empty());
    // An hour later only dave's session (ended 11:10) is newly due.
    let later = overdue(t, 24, now + time::Duration::hours(1)).await;
    let later: Vec<_> = later
        .expect("later")
        .iter()
        .map(|n| n.evidence["tunnelId"].clone())
        .collect();
    assert_eq!(later, [json!("d")]);
}

/// `n` sessions of 50 users to 25 VMs on 2025-03-14 on hosts `bas-0` … `bas-2`, every third
/// outside working hours, one in five unrecorded.
async fn day_of(t: &dyn TableStore, n: usize) {
    for i in 0..n {
        let (tunnel, user, vm) = (
            format!("t{i:04}"),
            format!("u{}", i % 50),
            format!("vm{}", i % 25),
        );
        let hour = if i % 3 == 0 { 21 } else { 10 };
        let minute = i64::try_from(i % 60).expect("minute");
        let start = datetime!(2025-03-14 00:00 UTC) + time::Duration::minutes(hour * 60 + minute);
        let host = ["bas-0", "bas-1", "bas-2"][i % 3];
        let s = ok(&tunnel, &user, &vm, start, 10);
        put(
            t,
            &S {
                recorded: i % 5 != 0,
                host,
                ..s
            },
        )
        .await;
    }
}

#[tokio::test]
async fn a_run_costs_calls_per_changed_session_and_a_read_is_one_query() {
    let counted = Arc::new(CountingTables::new(InMemoryTables::new()));
    let f = fakes();
    let ports = Ports {
        tables: counted.clone(),
        ..f.state.ports.clone()
    };
    day_of(counted.as_ref(), 600).await;
    let calls = || counted.count(None, None);
    let before = calls();
    let done = refresh(&ports, &settings(), None, &Raised, NOW)
        .await
        .expect("first");
    let first = calls() - before;
    assert_eq!(done.sessions, 600);
    assert!(done.queued > 200, "{done:?}");
    // A window read and an entry read per session, a transaction per queued one, two calls per
    // (user, VM) pair, the record cleared 100 rows a transaction.
    let bound = 2 * 600 + done.queued + 150;
    assert!(
        first <= u64::try_from(bound).expect("bound"),
        "{first} calls"
    );
    // Nothing recorded: the estate, the basis row, the record, the ranked mark.
    let before = calls();
    refresh(&ports, &settings(), None, &Raised, NOW)
        .await
        .expect("idle");
    assert_eq!(calls() - before, 4, "an idle run");
    // Ten sessions change: ten sessions' worth, whatever the queue holds.
    for i in 0..10 {
        let start = datetime!(2025-03-14 10:00 UTC) + time::Duration::minutes(i);
        put(
            counted.as_ref(),
            &S {
                recorded: false,
                ..ok(&format!("t{i:04}"), "u0", "vm0", start, 45)
            },
        )
        .await;
    }
    let before = calls();
    refresh(&ports, &settings(), None, &Raised, NOW)
        .await
        .expect("ten");
    let ten = calls() - before;
    assert!(ten <= 4 + 10 * 4 + 6, "{ten} calls for ten sessions");
    // The riskiest 50 (of one host, too) in one query.
    for host in [None, Some("BAS-1")] {
        let before = calls();
        let got = top(counted.as_ref(), 50, host).await.expect("top");
        assert_eq!((got.len(), calls() - before), (50, 1), "{host:?}");
        let all = top(counted.as_ref(), 10_000, host).await.expect("all");
        assert_eq!(got[..], all[..50]);
        assert!(host.is_none() || all.iter().all(|e| e["BastionHost"] == "bas-1"));
    }
}

#[tokio::test]
async fn a_session_whose_vm_had_another_door_open_during_it_ranks_higher() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    let vm =
        "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-x";
    // Run Command used on vm-x from 09:55 to 10:05 (cleared), and a public IP on it still open
    // since 13:00.
    for (door, opened, status, resolved) in [
        (
            "door:run-command",
            "2025-03-14T09:55:00.000Z",
            "resolved",
            "2025-03-14T10:05:00.000Z",
        ),
        ("door:public-ip", "2025-03-14T13:00:00.000Z", "open", ""),
    ] {
        let mut e = json!({"PartitionKey": "vm-x-key", "RowKey": door, "Host": vm, "HostName": "vm-x",
            "Status": status, "Severity": "high", "OpenedAt": opened});
        if !resolved.is_empty() {
            e["ResolvedAt"] = json!(resolved);
        }
        let table = crate::estate::store::ESTATE_TABLE;
        write_creating_table(t, table, e.as_object().expect("obj"), WriteMode::Upsert)
            .await
            .expect("door");
    }
    let day = datetime!(2025-03-14 00:00 UTC);
    let at = |h: i64, m: i64| day + time::Duration::minutes(h * 60 + m);
    for (tunnel, start) in [
        ("during", at(10, 0)),
        ("between", at(11, 0)),
        ("later", at(14, 0)),
    ] {
        let s = S {
            target: vm,
            ..ok(tunnel, "alice", "vm-x", start, 30)
        };
        put(t, &s).await;
    }
    refresh(ports, &settings(), None, &Raised, NOW)
        .await
        .expect("refresh");
    let q = queue_of(t, NOW).await;
    let reasons = |id: &str| {
        q.iter()
            .find(|(t, _, _)| t == id)
            .map(|(_, _, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(
        reasons("during").contains(&"other-door-open".to_owned()),
        "{q:?}"
    );
    assert!(
        reasons("later").contains(&"other-door-open".to_owned()),
        "{q:?}"
    );
    assert!(
        !reasons("between").contains(&"other-door-open".to_owned()),
        "{q:?}"
    );
}

/// The review queue's `failed-login-burst` and the detection's alerts name the same bursts for the
/// same rows: mallory's failed logins spread over five VMs are one alert, and queue its five
/// attempts and her session right after; trent's five straddle two windows (three, then two),
/// so no alert and no reason, though five lie within 15 minutes before his session. (Mallory's
/// client IP is one burst too, naming the same sessions.)
#[tokio::test]
async fn the_queue_ranks_by_the_bursts_the_detection_alerts_and_no_other() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = ports.tables.as_ref();
    let at = |m: i64| datetime!(2025-03-14 09:00 UTC) + time::Duration::minutes(m);
    let mut alerts = Vec::new();
    for (i, vm) in ["vm-a", "vm-b", "vm-c", "vm-d", "vm-e"]
        .into_iter()
        .enumerate()
    {
        let x = format!("m{i}");
        let s = S {
            vm,
            ..failed(&x, "mallory", at(3 + i as i64))
        };
        alerts.extend(put(t, &s).await);
    }
    put(t, &ok("m-after", "mallory", "vm-a", at(20), 10)).await;
    put(t, &ok("m-later", "mallory", "vm-a", at(45), 10)).await;
    for (i, m) in [12, 13, 14, 15, 16].into_iter().enumerate() {
        let x = format!("t{i}");
        let s = S {
            ip: "203.0.113.9",
            ..failed(&x, "trent", at(m))
        };
        alerts.extend(put(t, &s).await);
    }
    let after = ok("t-after", "trent", "vm-a", at(17), 10);
    put(
        t,
        &S {
            ip: "203.0.113.9",
            ..after
        },
    )
    .await;
    let named: BTreeSet<String> = alerts
        .iter()
        .filter(|a| a.evidence["dimension"] == "user")
        .flat_map(|a| {
            a.evidence["tunnelIds"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        named,
        ["m0", "m1", "m2", "m3", "m4"].map(String::from).into()
    );
    refresh(ports, &settings(), None, &Raised, NOW)
        .await
        .expect("refresh");
    let ranked: BTreeSet<String> = (queue_of(t, NOW).await.into_iter())
        .filter(|(_, _, r)| r.iter().any(|r| r == "failed-login-burst"))
        .map(|(t, _, _)| t)
        .collect();
    let mut want = named;
    want.insert("m-after".into());
    assert_eq!(ranked, want);
}
