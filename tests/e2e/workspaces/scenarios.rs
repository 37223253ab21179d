//! Two instances ticking one workspace, a partial answer, a late record (ingested behind the
//! cursor after a tick passed its `TimeGenerated`) and a restart mid-window (the cursor left after
//! a page, the process killed), through the real handler on Azurite with tokens from the fake
//! identity endpoint: every session row exists once and every notification id is raised once.

use std::collections::BTreeSet;

use bastion_testkit::loganalytics::Fault;
use time::Duration;

use super::rig::{Rec, T, WsRig, distinct, failed, fresh, session, sessions, tick, timer};

fn at(minute: i64) -> time::OffsetDateTime {
    time::macros::datetime!(2025-03-14 09:00 UTC) + Duration::minutes(minute)
}

#[tokio::test]
async fn two_instances_a_partial_answer_a_late_record_and_a_restart_lose_and_double_nothing() {
    let Some(w) = WsRig::start().await else {
        return;
    };
    let env = w.env(
        &fresh("ws"),
        &fresh("nologs"),
        true,
        &[("AUDITLOGS_QUERY_PAGE_ROWS", "3")],
    );
    let (h1, h2) = (WsRig::spawn(&env).await, WsRig::spawn(&env).await);
    let mut first: Vec<Rec> = (0..5)
        .map(|n| session(n, "alice", at(i64::from(n) * 3)))
        .collect();
    first.extend((0..6).map(|n| failed(n, "mallory", at(30 + i64::from(n)))));
    w.ingest(&first, T - Duration::minutes(60));
    // The first answer is partial: the page is halved, nothing advances on it.
    w.fake.faults([Fault::Partial]);
    let mut raised = Vec::new();
    let (a, b) = futures::join!(tick(&h1, "AuditLogQuery", T), tick(&h2, "AuditLogQuery", T));
    raised.extend(a);
    raised.extend(b);
    let sent = w.fake.received();
    assert!(
        sent.iter().any(|r| r.query.ends_with("| take 2")),
        "a smaller page after the partial answer"
    );

    // Late: ingested a minute behind the cursor (now − lag), generated long before the tick.
    let late = session(20, "bob", at(40));
    w.ingest(std::slice::from_ref(&late), T - Duration::minutes(3));
    // Mid-window: after the late record and one page, the next query is refused and the process
    // dies with the cursor inside the window.
    let second: Vec<Rec> = (21..25).map(|n| session(n, "carol", at(45))).collect();
    w.ingest(&second, T - Duration::minutes(2) + Duration::seconds(10));
    w.fake.faults([Fault::Pass, Fault::Status(400)]);
    let (status, reply) = h1
        .invoke(
            "AuditLogQuery",
            &timer("AuditLogQuery", T + Duration::minutes(1)),
        )
        .await;
    assert!(status == 200 || status == 500, "{status} {reply}");
    let mut h1 = h1;
    h1.child.kill().await.expect("kill the first instance");
    let h3 = WsRig::spawn(&env).await;
    let (a, b) = futures::join!(
        tick(&h2, "AuditLogQuery", T + Duration::minutes(1)),
        tick(&h3, "AuditLogQuery", T + Duration::minutes(1))
    );
    raised.extend(a);
    raised.extend(b);
    // Past the unrecorded grace: every session alerts, once.
    let later = T + Duration::minutes(40);
    let (a, b) = futures::join!(
        tick(&h2, "AuditLogQuery", later),
        tick(&h3, "AuditLogQuery", later)
    );
    raised.extend(a);
    raised.extend(b);

    let expected: BTreeSet<String> = first
        .iter()
        .chain([&late])
        .chain(&second)
        .filter(|r| r.ended.is_some())
        .map(|r| r.tunnel.clone())
        .collect();
    let listed = sessions(&h2).await;
    let ids: Vec<String> = listed
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap_or_default().to_owned())
        .collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no session row twice: {ids:?}");
    assert!(
        expected.is_subset(&unique),
        "every session stored: {expected:?} of {unique:?}"
    );
    let raised = distinct(&raised);
    let of = |kind: &str| raised.iter().filter(|(k, _)| k == kind).count();
    assert_eq!(
        of("session.unrecorded"),
        expected.len(),
        "one alert id per session: {raised:?}"
    );
    // The burst counts in two partitions (the user and the client address): one digest each,
    // whichever instance raised it (the differential test holds the ids to the archive's).
    assert_eq!(
        of("login.failed.burst"),
        2,
        "one digest per partition: {raised:?}"
    );
    w.assert_identity_tokens();
}
