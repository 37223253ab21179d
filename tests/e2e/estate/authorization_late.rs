//! Late `AuditLogs` rows, end to end through the real handler's `EstateCheck`: PIM's rows are
//! asked by `ingestion_time()` from each workspace's cursor (one query per workspace a check), so
//! a row that reaches the workspace hours after its `TimeGenerated` is read at the first check
//! after it arrives and flips the session it covers from `none` to `pim` (its
//! `session.unauthorized` resolved by `session.authorized`); a row stamped just before a query's
//! end but queryable only after it is still read (the cursor's overlap); a row already read is
//! not asked again.

use bastion_recordings::dates::timestamp;
use bastion_testkit::loganalytics::FakeLogs;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::Rig;
use super::authorization::{activation_row, instance, sessions_arrive, sessions_arrive_at, vm};
use super::doors::{CUSTOMER, check_at};
use super::fake_arm::SUB;
use crate::harness::azurite;

/// A PIM activation row of `upn` at resource group `rg-app` over `(from, until)`
/// ([`activation_row`]), stamped `ingested` and queryable from `visible`.
fn activation(
    logs: &FakeLogs,
    (id, upn): (&str, &str),
    (from, until): (&str, &str),
    (ingested, visible): (OffsetDateTime, OffsetDateTime),
) {
    let scope = format!("/subscriptions/{SUB}/resourcegroups/rg-app");
    let mut row = activation_row(id, upn, &scope, (from, until), visible);
    row.ingested = ingested;
    logs.ingest(CUSTOMER, row);
}

/// The `ingestion_time()` bounds of a query.
fn bounds(query: &str) -> (OffsetDateTime, OffsetDateTime) {
    let at = |op: &str| {
        let start = format!("ingestion_time() {op} datetime(");
        let rest = &query[query.find(&start).expect(op) + start.len()..];
        timestamp(&rest[..rest.find(')').expect(")")]).expect("a datetime")
    };
    (at(">="), at("<"))
}

fn verdict_of(said: &[(String, String, String)], kind: &str) -> usize {
    said.iter().filter(|s| s.0 == kind).count()
}

#[tokio::test]
async fn a_pim_row_arriving_hours_late_is_read_when_it_arrives_and_flips_none_to_pim() {
    let Some(cs) = azurite() else { return };
    let (logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    rig.arm.with(|e| {
        e.schedules
            .insert(format!("/subscriptions/{SUB}"), (Vec::new(), Vec::new()));
    });
    let now = OffsetDateTime::now_utc();
    // Dave's row arrived in time; Bob's and Carol's have not arrived yet.
    activation(
        &logs,
        ("audit-dave", "dave@contoso.com"),
        ("2026-11-25T07:55:00Z", "2026-11-25T10:00:00Z"),
        (now - Duration::minutes(3), now - Duration::minutes(2)),
    );
    let sessions = [
        ("01b", "bob@contoso.com", vm(SUB, "vm-b")),
        ("01c", "carol@contoso.com", vm(SUB, "vm-c")),
        ("01d", "dave@contoso.com", vm(SUB, "vm-d")),
    ];
    sessions_arrive(&rig, &cs, &sessions).await;
    // Bob and Carol are told at the first check; Dave's role is judged at the next, its
    // definition listed then.
    let at = ("2026-11-25T08:45:00Z", "2026-11-25T09:00:00Z");
    let (mut said, listed) = super::authorization::check_and_list_roles(&mut rig, at).await;
    said.extend(listed);
    assert_eq!(
        verdict_of(&said, "session.unauthorized"),
        2,
        "bob and carol: {said:?}"
    );
    // A check past the 2 hours within which the sessions that started are read again: they are
    // settled, not read (nothing new covers them).
    let said = check_at(&mut rig, "2026-11-25T10:30:00Z").await;
    assert_eq!(
        verdict_of(&said, "session.unauthorized"),
        0,
        "told once: {said:?}"
    );
    let first = logs.received();
    let first = first.last().expect("one query").query.clone();
    let (_, first_hi) = bounds(&first);

    // Bob's activation (08:00 to 09:00) reaches the workspace more than 4 hours after it was
    // written; Carol's was stamped just before the last query's end but could only be queried
    // after it (inside the cursor's overlap).
    let later = OffsetDateTime::now_utc();
    activation(
        &logs,
        ("audit-bob", "bob@contoso.com"),
        ("2026-11-25T08:00:00Z", "2026-11-25T09:00:00Z"),
        (later, later),
    );
    activation(
        &logs,
        ("audit-carol", "carol@contoso.com"),
        ("2026-11-25T07:58:00Z", "2026-11-25T08:30:00Z"),
        (first_hi - Duration::minutes(1), later),
    );
    let said = check_at(&mut rig, "2026-11-25T12:15:00Z").await;
    assert_eq!(
        verdict_of(&said, "session.authorized"),
        2,
        "bob's and carol's resolved: {said:?}"
    );
    assert_eq!(verdict_of(&said, "session.unauthorized"), 0, "{said:?}");
    let queries: Vec<String> = (logs.received().into_iter())
        .filter(|r| r.query.starts_with("AuditLogs") || r.query.starts_with("union"))
        .map(|r| r.query)
        .collect();
    assert_eq!(
        queries.len(),
        4,
        "one query a workspace a check: {queries:?}"
    );
    // The last asks only what arrived since the one before (less the overlap), not 7 days again.
    let (lo, _) = bounds(&queries[3]);
    assert!(
        lo >= first_hi - Duration::minutes(10) && lo < first_hi,
        "{lo} against the first query's end {first_hi}"
    );
    let (status, page) = rig
        .handler
        .get_json(
            "/api/sessions?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z&authorization=pim",
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let mut who: Vec<&str> = (page["items"].as_array().into_iter().flatten())
        .filter_map(|i| i["userEmail"].as_str())
        .collect();
    who.sort_unstable();
    assert_eq!(
        who,
        ["bob@contoso.com", "carol@contoso.com", "dave@contoso.com"]
    );
    let bob = (page["items"].as_array().into_iter().flatten())
        .find(|i| i["userEmail"] == "bob@contoso.com")
        .map(|i| i["authorizationRecord"]["evidence"].clone());
    assert_eq!(bob, Some(json!(["audit-bob"])));
}

/// The verdicts of the sessions of 2026-11-25: `e-mail → verdict` (empty: undecided).
async fn verdicts(rig: &Rig) -> Vec<(String, String)> {
    let (status, page) = rig
        .handler
        .get_json("/api/sessions?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{page}");
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let mut out: Vec<(String, String)> = (page["items"].as_array().into_iter().flatten())
        .map(|i| (s(&i["userEmail"]), s(&i["authorization"])))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_session_row_written_three_hours_late_is_decided_at_the_next_check() {
    let Some(cs) = azurite() else { return };
    let (_logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    rig.arm.with(|e| {
        let alice = instance(
            "pim-alice",
            ("oid-alice", "alice@contoso.com"),
            &rg,
            true,
            ("2026-11-25T07:45:00Z", Some("2026-11-25T15:45:00Z")),
        );
        (e.schedules).insert(format!("/subscriptions/{SUB}"), (vec![alice], Vec::new()));
    });
    // Checks every 15 minutes from 09:00 to 11:00 (the day's sweep at the first): no session yet.
    for at in ["09:00", "09:15", "10:00", "11:00"] {
        check_at(&mut rig, &format!("2026-11-25T{at}:00Z")).await;
    }
    // The connects of 08:00 and 08:01 are written at 11:05, three hours after they started.
    let sessions = [
        ("02a", "alice@contoso.com", vm(SUB, "vm-a")),
        ("02b", "bob@contoso.com", vm(SUB, "vm-b")),
    ];
    sessions_arrive_at(&rig, &cs, &sessions, Some("2026-11-25T11:05:00Z")).await;
    assert_eq!(
        verdicts(&rig).await,
        [
            ("alice@contoso.com".to_owned(), String::new()),
            ("bob@contoso.com".to_owned(), String::new())
        ],
        "written, not decided yet"
    );
    // The next check (one tick after the write) decides Bob: before, they started more than
    // 2 hours before the last check and waited for the next day's sweep. Alice's role, first
    // seen then (no session before asked for the lists), is judged at the one after, its
    // definition listed.
    let said = check_at(&mut rig, "2026-11-25T11:15:00Z").await;
    assert_eq!(
        verdicts(&rig).await,
        [
            ("alice@contoso.com".to_owned(), String::new()),
            ("bob@contoso.com".to_owned(), "none".to_owned())
        ],
        "{said:?}"
    );
    assert_eq!(verdict_of(&said, "session.unauthorized"), 1, "{said:?}");
    super::authorization::budget_passes(&rig).await;
    check_at(&mut rig, "2026-11-25T11:30:00Z").await;
    assert_eq!(
        verdicts(&rig).await,
        [
            ("alice@contoso.com".to_owned(), "pim".to_owned()),
            ("bob@contoso.com".to_owned(), "none".to_owned())
        ]
    );
}
