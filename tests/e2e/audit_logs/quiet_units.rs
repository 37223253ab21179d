//! `AuditLogTail`'s host units carrying what the planner knew of the host's cursors, on Azurite
//! through the real handler (the test plays the queue: [`crate::harness::HandlerProcess::deliver`]):
//! after quiet ticks, a blob grown after its unit was planned, a new hour's blob and a late hour's
//! blob, both without their `AuditLogCreated` event, are all read by the next unit.

use serde_json::Value;

use super::support::{Env, HOST, count, hour_path, record, start, tick_invocation_at};
use crate::harness::queue_outputs;

/// Plans tick `minute`: the host's unit (its message as the queue would carry it).
async fn plan(e: &Env, minute: i64) -> Value {
    let (status, plan) = e
        .handler
        .invoke_plan("AuditLogTail", &tick_invocation_at(minute))
        .await;
    assert_eq!(status, 200, "{plan}");
    let units = queue_outputs(&plan, "workunits");
    units
        .into_iter()
        .find(|u| u["unit"].as_str().is_some_and(|u| u.ends_with(HOST)))
        .unwrap_or_else(|| panic!("no unit of {HOST} in {plan}"))
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

#[tokio::test]
async fn after_quiet_ticks_a_grown_blob_a_new_hour_and_a_late_one_are_read() {
    let Some(e) = start().await else { return };
    e.create(11).await;
    for minute in 0..3 {
        let unit = plan(&e, minute).await;
        assert!(
            unit["known"]
                .as_str()
                .is_some_and(|k| k.contains(&hour_path(11))),
            "the planner says what it knew of the host: {unit}"
        );
        let reply = deliver(&e, &unit).await;
        assert_eq!(
            (count(&reply, "hosts"), count(&reply, "grown")),
            (1, 0),
            "{reply}"
        );
    }
    // Grown after its unit was planned.
    let unit = plan(&e, 3).await;
    let grown = "e0000001-0000-4000-8000-000000000001";
    e.append(
        11,
        record(grown, "2025-03-14T11:32:10Z", "Successfully Connected.", "").as_bytes(),
    )
    .await;
    let reply = deliver(&e, &unit).await;
    assert_eq!(count(&reply, "grown"), 1, "{reply}");
    assert!(e.session(grown).await.is_some(), "{reply}");
    // Quiet again, then a new hour's blob and a late hour's, their events lost.
    let reply = deliver(&e, &plan(&e, 4).await).await;
    assert_eq!(count(&reply, "grown"), 0, "{reply}");
    let unit = plan(&e, 5).await;
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
    let reply = deliver(&e, &unit).await;
    assert_eq!(count(&reply, "registered"), 2, "{reply}");
    for t in [new, late] {
        assert!(e.session(t).await.is_some(), "{t}: {reply}");
    }
    // All three known at the next plan: quiet.
    let unit = plan(&e, 6).await;
    let known = unit["known"].as_str().unwrap_or_default();
    for h in [7, 11, 12] {
        assert!(
            known.contains(&format!("{}=", hour_start(h))),
            "hour {h}: {known}"
        );
    }
    let reply = deliver(&e, &unit).await;
    assert_eq!(
        (count(&reply, "grown"), count(&reply, "registered")),
        (0, 0),
        "{reply}"
    );
}

/// The Unix time of hour `h` of 2025-03-14.
fn hour_start(h: u8) -> i64 {
    (time::macros::datetime!(2025-03-14 00:00 UTC) + time::Duration::hours(h.into()))
        .unix_timestamp()
}
