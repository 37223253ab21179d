//! `session.unaudited` over the in-memory tables: matched by the exact key or by host, VM, user
//! and start; announced once, when its wait has passed, by one of two racing instances.

use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{HOST, host, record, session};
use crate::catalogue::days::{DAYS_TABLE, DayRow};
use crate::catalogue::session::SESSIONS_TABLE;
use crate::estate::{live, unaudited};
use crate::tables::ops::write_creating_table;
use crate::tables::{Entity, TableStore, WriteMode};
use crate::testkit::tables::memory::InMemoryTables;

const WAIT: Duration = Duration::minutes(120);
const T0: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

fn live_session(id: &str, user: &str) -> crate::arm::ActiveSession {
    crate::arm::ActiveSession {
        start_time: Some("2026-11-25T09:00:00.0000Z".into()),
        target_host_name: Some("vm-app-01".into()),
        ..session(id, user)
    }
}

fn entity(v: serde_json::Value) -> Entity {
    v.as_object().cloned().expect("object")
}

/// A `sessionwindows` row of the audit logs: host b1, `vm`, `user`, started `minutes` after T0.
async fn audit_window(t: &dyn TableStore, tunnel: &str, vm: &str, user: &str, minutes: i64) {
    let start = crate::dates::format_utc_millis(T0 + Duration::minutes(minutes));
    let e = entity(
        json!({"PartitionKey": &start[..10], "RowKey": tunnel, "Start": start,
        "BastionHost": "b1", "TargetVm": vm, "UserName": user, "Protocol": "ssh"}),
    );
    write_creating_table(t, DAYS_TABLE, &e, WriteMode::Upsert)
        .await
        .expect("window");
}

async fn seen(t: &InMemoryTables, sessions: &[crate::arm::ActiveSession]) {
    record(
        t,
        HOST,
        &host(true, false),
        sessions,
        T0 + Duration::minutes(1),
    )
    .await
    .expect("record");
}

#[test]
fn a_match_needs_the_same_host_vm_start_and_user() {
    let mut e = entity(
        json!({"HostName": "b1", "TargetHost": "VM-App-01", "UserName": "alice",
        "StartTime": "2026-11-25T09:00:00Z"}),
    );
    let w = |host: &str, vm: &str, user: &str, minutes: i64| {
        DayRow::from_entity(&entity(json!({
        "RowKey": "t", "Start": crate::dates::format_utc_millis(T0 + Duration::minutes(minutes)),
        "BastionHost": host, "TargetVm": vm, "UserName": user})))
        .expect("row")
    };
    assert!(unaudited::same_session(
        &e,
        &w("b1", "vm-app-01", "ALICE", 3)
    ));
    assert!(unaudited::same_session(&e, &w("b1", "vm-app-01", "", -9)));
    for (host, vm, user, minutes) in [
        ("b2", "vm-app-01", "alice", 0),
        ("b1", "vm-db-01", "alice", 0),
        ("b1", "vm-app-01", "bob", 0),
        ("b1", "vm-app-01", "alice", 11),
    ] {
        let other = w(host, vm, user, minutes);
        assert!(
            !unaudited::same_session(&e, &other),
            "{host} {vm} {user} {minutes}"
        );
    }
    e.remove("TargetHost");
    e.insert("TargetResourceId".into(), json!("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/vm-app-01"));
    assert!(unaudited::same_session(
        &e,
        &w("b1", "vm-app-01", "alice", 0)
    ));
}

#[tokio::test]
async fn a_live_session_never_audited_is_announced_once_when_due() {
    let t = InMemoryTables::new();
    seen(&t, &[live_session("s1", "alice")]).await;
    let early = live::audit(&t, HOST, WAIT, T0 + WAIT - Duration::minutes(1));
    assert!(early.await.expect("early").is_empty(), "within the window");
    // An audit record of another VM does not count.
    audit_window(&t, "t-other", "vm-db-01", "alice", 0).await;
    let wait_end = T0 + WAIT;
    let (a, b) = tokio::join!(
        live::audit(&t, HOST, WAIT, wait_end),
        live::audit(&t, HOST, WAIT, wait_end)
    );
    let all: Vec<_> = a.expect("a").into_iter().chain(b.expect("b")).collect();
    assert_eq!(all.len(), 1, "two instances, one announcement: {all:?}");
    let n = &all[0];
    assert_eq!(n.kind.name, crate::spine::kinds::SESSION_UNAUDITED.name);
    let fact = format!("{}|s1", HOST.to_ascii_lowercase());
    let id = crate::spine::stable_id(crate::spine::kinds::SESSION_UNAUDITED.name, &fact);
    assert_eq!(n.id(), id, "stable: host + session");
    assert_eq!(n.evidence["bastionHost"], "b1");
    assert_eq!(n.evidence["targetVm"], "vm-app-01");
    // Still live at the next ticks: the refresh keeps the decision.
    seen(&t, &[live_session("s1", "alice")]).await;
    let later = live::audit(&t, HOST, WAIT, wait_end + Duration::hours(1));
    assert!(later.await.expect("later").is_empty(), "decided once");
}

#[tokio::test]
async fn an_audited_session_is_not_announced_by_time_match_or_exact_key() {
    let t = InMemoryTables::new();
    seen(
        &t,
        &[live_session("s1", "alice"), live_session("s2", "bob")],
    )
    .await;
    audit_window(&t, "tunnel-a", "vm-app-01", "alice", 2).await;
    let exact = entity(json!({"PartitionKey": "s2", "RowKey": "session", "BastionHost": "b1"}));
    write_creating_table(&t, SESSIONS_TABLE, &exact, WriteMode::Upsert)
        .await
        .expect("session");
    let n = live::audit(&t, HOST, WAIT, T0 + WAIT + Duration::minutes(5));
    assert!(n.await.expect("sweep").is_empty());
    let rows = live::live_now(&t).await.expect("live");
    let audit: Vec<_> = rows
        .iter()
        .map(|r| r["Audit"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(audit, ["tunnel:tunnel-a", "tunnel:s2"]);
}

/// The documented `startTime` example (`2019-1-1T12:00:00.0000Z`, unpadded) is read, stored as a
/// timestamp beside the service's own text, and matched by time like any other.
#[tokio::test]
async fn the_documented_start_time_form_is_read_and_matched() {
    let t = InMemoryTables::new();
    let s = crate::arm::ActiveSession {
        start_time: Some("2026-11-25T9:0:00.0000Z".into()),
        ..live_session("s1", "alice")
    };
    seen(&t, &[s]).await;
    let rows = live::live_now(&t).await.expect("live");
    assert_eq!(rows[0]["StartTime"], "2026-11-25T09:00:00.000Z");
    assert_eq!(rows[0]["StartTimeRaw"], "2026-11-25T9:0:00.0000Z");
    audit_window(&t, "tunnel-a", "vm-app-01", "alice", 1).await;
    let n = live::audit(&t, HOST, WAIT, T0 + WAIT);
    assert!(n.await.expect("sweep").is_empty());
    let rows = live::live_now(&t).await.expect("live");
    assert_eq!(rows[0]["Audit"], "tunnel:tunnel-a");
}

/// A start the service wrote in a form that cannot be read fails nothing and never raises
/// `session.unaudited` by itself: without a tunnel id of its own the session is decided unknown.
#[tokio::test]
async fn an_unreadable_start_time_never_raises_unaudited_by_itself() {
    let page: Vec<crate::arm::ActiveSession> = serde_json::from_value(json!([
        {"sessionId": "s-object", "startTime": {"ticks": 638000000000000000u64}, "userName": "alice",
         "targetHostName": "vm-app-01", "protocol": "SSH", "sessionDurationInMins": "3.5"},
        {"sessionId": "s-text", "startTime": "yesterday", "userName": "bob", "targetHostName": "vm-app-01"},
        {"sessionId": "s-number", "startTime": 1764061200, "userName": "carol", "targetHostName": "vm-app-01"}
    ]))
    .expect("a page with any startTime still reads");
    assert_eq!(page.len(), 3);
    assert_eq!(page[0].session_duration_in_mins, Some(3.5));
    let t = InMemoryTables::new();
    seen(&t, &page).await;
    let n = live::audit(&t, HOST, WAIT, T0 + WAIT + Duration::hours(1));
    assert!(n.await.expect("sweep").is_empty(), "nothing raised");
    for r in live::live_now(&t).await.expect("live") {
        assert_eq!(r["StartTime"], "", "{r:?}");
        assert!(
            r["Audit"]
                .as_str()
                .is_some_and(|a| a.starts_with("unknown")),
            "{r:?}"
        );
    }
}
