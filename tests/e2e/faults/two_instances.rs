//! Two `handler` processes on one Azurite account, as two scaled-out Functions instances: the same
//! events delivered to both, duplicated and out of order, and their timers firing together.

use std::collections::{BTreeMap, BTreeSet};

use bastion_recordings::tables::get_str;
use futures::future::join_all;
use serde_json::{Value, json};

use super::rig::{self, announced};
use crate::audit_logs::support::{event_invocation, hour_path, record, tick_invocation_at};
use crate::harness::{self, HandlerProcess};
use crate::notify::{HOOK, Receiver, invocation};

const RECORDINGS: usize = 6;
const OLDER: &str = "0000000000000000000000000001A2B30000000000c0ffee";
const NEWER: &str = "0000000000000000000000000001A2B30000000000d00d00";

/// Every recording's newer event three times and its older event once, interleaved across
/// recordings and spread over both instances, all at once: one row per recording (the newer
/// state), every `recording.catalogued` of a recording under one id; delivering every copy
/// through both instances posts each recording exactly once (the claim table). Meanwhile both
/// instances register the same audit blob and tail it with racing ticks: no session is lost.
#[tokio::test]
async fn two_instances_race_on_one_account_without_duplicates_or_losses() {
    let Some(cs) = harness::azurite() else { return };
    let rx = Receiver::start().await;
    let settings = rig::webhook_settings(&rx);
    let extra = rig::pairs(&settings);
    let e = rig::environment(&cs, &cs, &extra).await;
    let second = rig::spawn(&e.env, &cs, &extra).await;
    let both = [&e.handler, &second];

    let mut events = Vec::new();
    for i in 0..RECORDINGS {
        let name = format!("2025/03/14/vm-{i}/race-{i}.rec");
        let mut inv = rig::recording(&e, &name).await;
        let mut with = |seq: &str| {
            inv["Data"]["eventGridEvent"]["data"]["sequencer"] = json!(seq);
            inv["Data"]["eventGridEvent"]["id"] = json!(format!("evt-{i}-{seq}"));
            inv.clone()
        };
        events.extend([with(NEWER), with(OLDER), with(NEWER), with(NEWER)]);
    }
    // Out of order: a fixed shuffle (stride coprime with the length), so a rerun sees the same race.
    let order: Vec<Value> = (0..events.len())
        .map(|k| events[(k * 7) % events.len()].clone())
        .collect();
    let replies = join_all(
        order
            .iter()
            .enumerate()
            .map(|(k, inv)| both[k % 2].invoke("RecordingCreated", inv)),
    )
    .await;
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut messages = Vec::new();
    for (status, reply) in &replies {
        assert_eq!(*status, 200, "{reply}");
        if reply["Outputs"]["notifications"].is_object() {
            let recording = announced(reply);
            let n = reply["Outputs"]["notifications"].clone();
            let id = n["notificationId"].as_str().expect("id").to_owned();
            ids.entry(recording).or_default().insert(id);
            messages.push(n);
        }
    }
    assert_eq!(ids.len(), RECORDINGS, "every recording announced: {ids:?}");
    assert!(ids.values().all(|s| s.len() == 1), "one id each: {ids:?}");
    let rows = rig::rows(&e).await;
    assert_eq!(rows.len(), RECORDINGS, "one row per recording");
    assert!(
        rows.iter().all(|r| get_str(r, "Sequencer") == Some(NEWER)),
        "the newer state won everywhere"
    );

    let queued: Vec<Value> = messages.iter().map(|n| invocation(n, 1)).collect();
    let deliveries = join_all(
        queued
            .iter()
            .enumerate()
            .map(|(k, inv)| both[k % 2].invoke("NotifyWebhook", inv)),
    )
    .await;
    for (status, reply) in &deliveries {
        // A copy that finds another instance mid-delivery backs off (500) and is redelivered.
        assert!(matches!(status, 200 | 500), "{status} {reply}");
    }
    for (k, (status, _)) in deliveries.iter().enumerate() {
        if *status == 500 {
            let (status, reply) = both[k % 2]
                .invoke("NotifyWebhook", &invocation(&messages[k], 2))
                .await;
            assert_eq!(status, 200, "{reply}");
        }
    }
    let posted: Vec<String> = rx
        .hits(HOOK)
        .iter()
        .map(|h| h.headers.get("webhook-id").cloned().unwrap_or_default())
        .collect();
    let distinct: BTreeSet<&String> = posted.iter().collect();
    assert_eq!(
        (posted.len(), distinct.len()),
        (RECORDINGS, RECORDINGS),
        "each recording posted exactly once: {posted:?}"
    );

    sessions_survive_racing_ticks(&e, both).await;
}

async fn sessions_survive_racing_ticks(
    e: &crate::audit_logs::support::Env,
    both: [&HandlerProcess; 2],
) {
    let logs = e.logs();
    e.blobs
        .create_append(
            &bastion_recordings::storage::BlobRef::new(logs.clone(), hour_path(9)),
            "application/json",
        )
        .await
        .expect("create");
    let created = event_invocation(
        "invocations/auditlog-created.invocation.json",
        &logs,
        &hour_path(9),
    );
    for (status, reply) in join_all(both.map(|h| h.invoke("AuditLogCreated", &created))).await {
        assert_eq!(status, 200, "{reply}");
    }
    let mut tunnels = Vec::new();
    for batch in 0..3 {
        let lines: String = (0..4)
            .map(|i| {
                let tunnel = format!("d0d0d0d0-0000-4000-8000-0000000000{batch}{i}");
                let line = record(
                    &tunnel,
                    &format!("2025-03-14T09:1{batch}:0{i}Z"),
                    "Successfully Connected.",
                    "",
                );
                tunnels.push(tunnel);
                line
            })
            .collect();
        e.append(9, lines.as_bytes()).await;
        // Both instances tick the same period: one plans, the other's plan is a duplicate.
        let tick = tick_invocation_at(batch);
        for (status, reply) in join_all(both.map(|h| h.invoke("AuditLogTail", &tick))).await {
            assert_eq!(status, 200, "{reply}");
        }
    }
    for tunnel in &tunnels {
        let s = e.session(tunnel).await;
        assert!(
            s.as_ref()
                .is_some_and(|s| get_str(s, "Outcome") == Some("connected")),
            "session {tunnel} lost: {s:?}"
        );
    }
}
