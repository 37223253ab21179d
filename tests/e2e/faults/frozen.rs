//! A frozen endpoint (connections accepted, requests read, never answered): every invocation must
//! answer inside Event Grid's 30 s wait, because every storage call has timeouts
//! (`STORAGE_TRY_TIMEOUT_MS` per try, `STORAGE_TIMEOUT_MS` per call, both at their defaults here),
//! and a timer run facing one frozen blob still saves the progress it made on the others.
//!
//! Without those settings in the build, the storage clients wait as long as the SDK lets them and
//! these tests would only measure the hang: they are skipped with a message instead.

use std::time::Duration;

use bastion_recordings::tables::get_str;

use super::proxy::{Fault, Rule, Service};
use super::rig::{self, EVENT_GRID_WAIT};
use crate::audit_logs::support::{Env, record, tick_invocation};
use crate::harness::HandlerProcess;
use crate::settings_drift::SETTINGS;

fn timeouts_built() -> bool {
    let built = ["STORAGE_TRY_TIMEOUT_MS", "STORAGE_TIMEOUT_MS"]
        .iter()
        .all(|s| SETTINGS.contains(s));
    if !built {
        eprintln!("skipping: this build has no storage timeouts (STORAGE_TRY_TIMEOUT_MS)");
    }
    built
}

/// Invokes and fails the test if no answer came within Event Grid's wait.
async fn answer_in_time(
    h: &HandlerProcess,
    function: &str,
    inv: &serde_json::Value,
) -> (u16, serde_json::Value, Duration) {
    let slack = Duration::from_secs(5);
    match tokio::time::timeout(EVENT_GRID_WAIT + slack, rig::timed(h, function, inv)).await {
        Ok((status, reply, took)) => {
            assert!(took < EVENT_GRID_WAIT, "{function} answered after {took:?}");
            (status, reply, took)
        }
        Err(_) => panic!("{function}: no answer within {EVENT_GRID_WAIT:?}"),
    }
}

#[tokio::test]
async fn an_event_facing_frozen_storage_answers_500_in_time() {
    if !timeouts_built() {
        return;
    }
    let Some((e, proxy)) = rig::start(&[]).await else {
        return;
    };
    let inv = rig::recording(&e, "frozen.rec").await;
    // Blob, queue and table endpoints all frozen.
    proxy.add(Rule::new(Fault::Freeze).always());
    let (status, reply, _) = answer_in_time(&e.handler, "RecordingCreated", &inv).await;
    assert_eq!(status, 500, "{reply}");
    assert!(proxy.fired(Fault::Freeze) >= 1);
    proxy.clear();
    let (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "after the freeze: {reply}");
}

#[tokio::test]
async fn a_timer_facing_frozen_storage_answers_in_time_and_keeps_its_progress() {
    if !timeouts_built() {
        return;
    }
    let Some((e, proxy)) = rig::start(&[]).await else {
        return;
    };
    for h in [9, 10] {
        e.create(h).await;
        let line = record(
            &format!("e0e0e0e0-0000-4000-8000-0000000000{h:02}"),
            &format!("2025-03-14T{h:02}:10:00Z"),
            "Successfully Connected.",
            "",
        );
        e.append(h, line.as_bytes()).await;
    }
    // Every table call frozen: the tick cannot even list its cursors.
    proxy.add(Rule::new(Fault::Freeze).service(Service::Table).always());
    let (status, reply, _) = answer_in_time(&e.handler, "AuditLogTail", &tick_invocation()).await;
    assert_eq!(status, 500, "{reply}");
    proxy.clear();
    // Only the hour-10 blob frozen: the tick gives up on it in time and keeps hour 9's progress.
    proxy.add(
        Rule::new(Fault::Freeze)
            .service(Service::Blob)
            // The path as it goes on the wire: every reserved byte of a blob name is escaped.
            .path("h%3D10")
            .always(),
    );
    let (status, reply, _) = answer_in_time(&e.handler, "AuditLogTail", &tick_invocation()).await;
    assert_eq!(status, 200, "{reply}");
    assert!(session(&e, 9).await, "hour 9 tailed: {reply}");
    assert!(!session(&e, 10).await, "hour 10 not read");
    assert!(proxy.fired(Fault::Freeze) >= 1);
}

async fn session(e: &Env, h: u8) -> bool {
    e.session(&format!("e0e0e0e0-0000-4000-8000-0000000000{h:02}"))
        .await
        .is_some_and(|s| get_str(&s, "Outcome") == Some("connected"))
}
