//! Answers lost after the table service committed the write (the proxy forwards the request, reads
//! the answer, and closes the connection): the notification the write decides must still leave.

use std::collections::BTreeSet;

use bastion_recordings::tables::get_str;

use super::proxy::{Fault, Rule, Service};
use super::rig::{self, announced};
use crate::audit_logs::support::record;

fn lost_inserts(table: &str, attempts: usize) -> Rule {
    Rule::new(Fault::DropAnswer)
        .service(Service::Table)
        .method("POST")
        .path(table)
        .times(attempts)
}

/// Five recordings whose catalogue insert is stored but never acknowledged: in odd rounds the
/// table client's own retry meets the stored row (409) within the invocation, in even rounds every
/// attempt loses its answer, the invocation answers 500 and Event Grid redelivers. Each recording
/// is announced (and its hash requested) under its one stable id: 0 of 5 lost.
#[tokio::test]
async fn lost_answers_to_the_catalogue_insert_lose_no_notification() {
    let Some((e, proxy)) = rig::start(&[]).await else {
        return;
    };
    // The table exists, so the insert is what commits (not a 404 that creates it).
    e.tables.ensure_table("recordings").await.expect("table");
    let mut ids = BTreeSet::new();
    for i in 0..5 {
        let inv = rig::recording(&e, &format!("2025/03/14/vm-01/lost-{i}.rec")).await;
        let attempts = if i % 2 == 1 { 1 } else { 3 };
        proxy.add(lost_inserts("recordings", attempts));
        let (mut status, mut reply) = e.handler.invoke("RecordingCreated", &inv).await;
        proxy.clear();
        if attempts == 3 {
            assert_eq!(status, 500, "every answer lost: retryable: {reply}");
            (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
        }
        assert_eq!(status, 200, "{reply}\n{}", e.handler.log_text());
        ids.insert(announced(&reply));
    }
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(proxy.fired(Fault::DropAnswer), 3 + 1 + 3 + 1 + 3);
    let conflicts = proxy
        .seen()
        .iter()
        .filter(|s| s.method == "POST" && s.path.ends_with("recordings") && s.status == Some(409))
        .count();
    assert!(conflicts >= 2, "the retries met the stored rows");
    let stored: BTreeSet<String> = rig::rows(&e)
        .await
        .iter()
        .filter_map(|r| get_str(r, "RecordingId").map(str::to_owned))
        .collect();
    assert_eq!(stored, ids, "one row per recording, each announced");
}

/// Failed logins over the threshold in two windows; the answer to a `~notified` marker insert is
/// lost each time: once only the first attempt (the retry meets the marker: same tick), once every
/// attempt (the check fails, stays pending, and the next tick emits). Every digest leaves, and a
/// settled marker is not emitted again.
#[tokio::test]
async fn lost_answers_to_the_burst_marker_still_emit_every_digest() {
    let Some((e, proxy)) = rig::start(&[]).await else {
        return;
    };
    e.create(9).await;
    e.tables.ensure_table("failedlogins").await.expect("table");
    let mut digests = BTreeSet::new();
    for (window, attempts) in [("09:05", 1), ("09:35", 3)] {
        let lines: String = (0..5)
            .map(|i| {
                record(
                    &format!("f{window}-{i}").replace(':', ""),
                    &format!("2025-03-14T{window}:0{i}Z"),
                    "Login Failed",
                    "",
                )
            })
            .collect();
        e.append(9, lines.as_bytes()).await;
        proxy.add(lost_inserts("failedlogins", attempts));
        let mut emitted = Vec::new();
        for _ in 0..2 {
            let reply = e.tick().await;
            emitted.extend(bursts(&reply));
        }
        proxy.clear();
        assert_eq!(
            emitted.len(),
            2,
            "one digest per dimension (user, client IP), none lost, none repeated: {emitted:?}"
        );
        digests.extend(emitted);
    }
    assert_eq!(digests.len(), 4, "{digests:?}");
    assert_eq!(proxy.fired(Fault::DropAnswer), 1 + 3);
    assert!(bursts(&e.tick().await).is_empty(), "settled: not again");
}

/// The `login.failed.burst` notification ids of a tick reply (one output or an array).
fn bursts(reply: &serde_json::Value) -> Vec<String> {
    let out = &reply["Outputs"]["notifications"];
    let all = match out.as_array() {
        Some(a) => a.clone(),
        None if out.is_object() => vec![out.clone()],
        None => Vec::new(),
    };
    all.iter()
        .filter(|n| n["type"] == "login.failed.burst")
        .filter_map(|n| n["notificationId"].as_str().map(str::to_owned))
        .collect()
}
