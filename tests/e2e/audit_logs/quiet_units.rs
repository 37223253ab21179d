//! `AuditLogTail`'s planner listing each host before it plans the host's unit, on Azurite through
//! the real handler (the test plays the queue: [`crate::harness::HandlerProcess::deliver`]): a
//! quiet host is not planned; after quiet ticks, a blob grown after its unit was planned, a new
//! hour's blob and a late hour's blob, both without their `AuditLogCreated` event, and a late
//! append to an hour already read are all planned and read by the host's unit, which carries
//! what the planner knew of its cursors and its listing (a blob unchanged in that listing that
//! grows before the unit runs is read by the next period); `/api/health` counts the hosts left
//! out as unchanged.

use serde_json::Value;

use super::support::{Env, HOST, count, hour_path, record, start, tick_invocation_at};
use crate::harness::queue_outputs;

/// Plans tick `minute`: the host's unit (its message as the queue would carry it), if planned.
async fn planned(e: &Env, minute: i64) -> Option<Value> {
    let (status, plan) = e
        .handler
        .invoke_plan("AuditLogTail", &tick_invocation_at(minute))
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        count(&plan, "hosts"),
        1,
        "the planner lists the host: {plan}"
    );
    let units = queue_outputs(&plan, "workunits");
    units
        .into_iter()
        .find(|u| u["unit"].as_str().is_some_and(|u| u.ends_with(HOST)))
}

/// Plans tick `minute`: the host's unit, which must be planned.
async fn plan(e: &Env, minute: i64) -> Value {
    planned(e, minute)
        .await
        .unwrap_or_else(|| panic!("no unit of {HOST} at minute {minute}"))
}

/// Plans tick `minute`, which must leave the host out (its listing unchanged).
async fn quiet(e: &Env, minute: i64) {
    if let Some(unit) = planned(e, minute).await {
        panic!("a quiet host planned at minute {minute}: {unit}");
    }
}

/// Delivers `unit`: its reply.
async fn deliver(e: &Env, unit: &Value) -> Value {
    let (status, reply) = e.handler.deliver(unit, 1).await;
    assert_eq!(status, 200, "{reply} {}", e.handler.log_text());
    reply
}

/// Creates hour `h`'s blob holding `text`, with no `AuditLogCreated` (its event lost).
async fn unannounced(e: &Env, h: u8, text: &str) {
    let blob = bastion_recordings::storage::BlobRef::new(e.logs(), hour_path(h));
    e.blobs
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    e.append(h, text.as_bytes()).await;
}

/// `/api/health`'s last `AuditLogTail` period: units planned, not planned because still queued
/// (the join unit: this test never delivers it) and hosts left out unchanged; together, every
/// unit the timer watched.
async fn health(e: &Env) -> [i64; 3] {
    let (_, health) = e.handler.get_json("/api/health").await;
    let p = &health["workUnits"]["AuditLogTail"];
    ["planned", "stillRunningWhenPlanned", "unchanged"].map(|k| p[k].as_i64().unwrap_or(-1))
}

#[tokio::test]
async fn quiet_hosts_are_not_planned_and_growth_new_late_blobs_and_late_appends_are_read() {
    let Some(e) = start().await else { return };
    e.create(11).await;
    for minute in 0..3 {
        quiet(&e, minute).await;
    }
    assert_eq!(
        health(&e).await,
        [0, 1, 1],
        "the join unit queued; the host unchanged"
    );
    // Grown, then planned, then grown again before its unit runs: both read.
    let (first, grown) = (
        "e0000004-0000-4000-8000-000000000004",
        "e0000001-0000-4000-8000-000000000001",
    );
    e.append(
        11,
        record(first, "2025-03-14T11:31:10Z", "Successfully Connected.", "").as_bytes(),
    )
    .await;
    let unit = plan(&e, 3).await;
    assert!(
        unit["known"]
            .as_str()
            .is_some_and(|k| k.contains(&hour_path(11)) && k.contains("\nlisted\n")),
        "the planner says what it knew of the host, and its listing: {unit}"
    );
    assert_eq!(health(&e).await, [1, 1, 0], "the host planned");
    e.append(
        11,
        record(grown, "2025-03-14T11:32:10Z", "Successfully Connected.", "").as_bytes(),
    )
    .await;
    let reply = deliver(&e, &unit).await;
    assert_eq!(count(&reply, "records"), 2, "{reply}");
    for t in [first, grown] {
        assert!(e.session(t).await.is_some(), "{t}: {reply}");
    }
    quiet(&e, 4).await;
    // A new hour's blob and a late hour's, their events lost.
    let (new, late) = (
        "e0000002-0000-4000-8000-000000000002",
        "e0000003-0000-4000-8000-000000000003",
    );
    unannounced(
        &e,
        12,
        &record(new, "2025-03-14T12:00:10Z", "Successfully Connected.", ""),
    )
    .await;
    unannounced(
        &e,
        7,
        &record(late, "2025-03-14T07:10:10Z", "Successfully Connected.", ""),
    )
    .await;
    let reply = deliver(&e, &plan(&e, 5).await).await;
    assert_eq!(count(&reply, "registered"), 2, "{reply}");
    for t in [new, late] {
        assert!(e.session(t).await.is_some(), "{t}: {reply}");
    }
    quiet(&e, 6).await;
    // A late append to hour 11, read already and no longer the newest hour.
    let appended = "e0000005-0000-4000-8000-000000000005";
    e.append(
        11,
        record(
            appended,
            "2025-03-14T11:59:50Z",
            "Successfully Connected.",
            "",
        )
        .as_bytes(),
    )
    .await;
    let unit = plan(&e, 7).await;
    let known = unit["known"].as_str().unwrap_or_default();
    for h in [7, 11, 12] {
        assert!(
            known.contains(&format!("{}=", hour_start(h))),
            "hour {h}: {known}"
        );
    }
    let reply = deliver(&e, &unit).await;
    assert_eq!(
        (count(&reply, "grown"), count(&reply, "records")),
        (1, 1),
        "{reply}"
    );
    assert!(e.session(appended).await.is_some(), "{reply}");
    quiet(&e, 8).await;
    // Planned on its listing (hour 11 grown), then hour 12, unchanged in that listing, grows
    // before the unit runs: the unit reads hour 11 without listing the host; hour 12 is read by
    // the next period.
    let (eleven, twelve) = (
        "e0000006-0000-4000-8000-000000000006",
        "e0000007-0000-4000-8000-000000000007",
    );
    let connected = |t, at| record(t, at, "Successfully Connected.", "");
    e.append(11, connected(eleven, "2025-03-14T11:59:55Z").as_bytes())
        .await;
    let unit = plan(&e, 9).await;
    e.append(12, connected(twelve, "2025-03-14T12:09:10Z").as_bytes())
        .await;
    let reply = deliver(&e, &unit).await;
    assert_eq!(count(&reply, "records"), 1, "{reply}");
    assert!(e.session(eleven).await.is_some(), "{reply}");
    assert!(e.session(twelve).await.is_none(), "{reply}");
    let reply = deliver(&e, &plan(&e, 10).await).await;
    assert_eq!(count(&reply, "records"), 1, "{reply}");
    assert!(e.session(twelve).await.is_some(), "{reply}");
}

/// The Unix time of hour `h` of 2025-03-14.
fn hour_start(h: u8) -> i64 {
    (time::macros::datetime!(2025-03-14 00:00 UTC) + time::Duration::hours(h.into()))
        .unix_timestamp()
}
