//! `AuditLogTail` fanned out through the work queue, on Azurite through two real `handler`
//! processes (the test plays the queue: [`HandlerProcess::deliver`]): one tick plans one unit per
//! Bastion host and one that joins and detects; each host's unit reads that host alone, whichever
//! instance runs it; failed logins of one user spread over two hosts read on two instances still
//! make one digest per dimension, announced by the join unit; `/api/health` counts the period.

use serde_json::{Value, json};

use super::support::{Env, HOST, event_invocation, record, start, tick_invocation_at};
use crate::harness::{HandlerProcess, queue_outputs};

/// The second host: another name in the same resource group.
fn other_host() -> String {
    HOST.replace("BAS-HUB-WEU", "BAS-HUB-NEU")
}

fn path(host: &str) -> String {
    format!("{host}/y=2025/m=03/d=14/h=09/m=00/PT1H.json")
}

/// Registers `host`'s hour-9 blob and appends failed logins `tunnels` of user `u` on `VM-E2E`.
async fn failed_logins(e: &Env, host: &str, tunnels: &[&str]) {
    let blob = bastion_recordings::storage::BlobRef::new(e.logs(), path(host));
    e.blobs
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    let created = event_invocation(
        "invocations/auditlog-created.invocation.json",
        &e.logs(),
        &path(host),
    );
    let (status, reply) = e.handler.invoke("AuditLogCreated", &created).await;
    assert_eq!(status, 200, "{reply}");
    let name = host.rsplit('/').next().expect("name");
    let lines: String = tunnels
        .iter()
        .enumerate()
        .map(|(i, t)| {
            record(t, &format!("2025-03-14T09:05:0{i}Z"), "Login Failed", "")
                .replace("BAS-HUB-WEU", name)
        })
        .collect();
    e.blobs
        .append(&blob, bytes::Bytes::from(lines))
        .await
        .expect("append");
}

async fn has_session(e: &Env, tunnel: &str) -> bool {
    e.session(tunnel).await.is_some()
}

fn bursts(reply: &Value) -> usize {
    queue_outputs(reply, "notifications")
        .iter()
        .filter(|n| n["type"] == "login.failed.burst")
        .count()
}

#[tokio::test]
async fn each_hosts_unit_reads_its_host_alone_and_the_join_unit_digests_across_hosts() {
    let Some(e) = start().await else { return };
    let second = HandlerProcess::spawn(&e.env.pairs()).await;
    let weu = ["fa000001", "fa000002", "fa000003"];
    let neu = ["fb000001", "fb000002"];
    failed_logins(&e, HOST, &weu).await;
    failed_logins(&e, &other_host(), &neu).await;

    // One plan for the period, however many instances tick it.
    let tick = tick_invocation_at(0);
    let (status, plan) = e.handler.invoke_plan("AuditLogTail", &tick).await;
    assert_eq!(status, 200, "{plan}");
    let (status, again) = second.invoke_plan("AuditLogTail", &tick).await;
    assert_eq!(status, 200, "{again}");
    assert!(queue_outputs(&again, "workunits").is_empty(), "{again}");
    let units = queue_outputs(&plan, "workunits");
    let of = |name: &str| {
        units
            .iter()
            .find(|u| u["unit"].as_str().is_some_and(|u| u.ends_with(name)))
            .unwrap_or_else(|| panic!("no unit {name} in {units:?}"))
            .clone()
    };
    assert_eq!(units.len(), 3, "two hosts and the join: {units:?}");

    // The first host's unit on this instance reads its blob alone.
    let (status, reply) = e.handler.deliver(&of(HOST), 1).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        bursts(&reply),
        0,
        "a host's unit announces nothing: {reply}"
    );
    for t in weu {
        assert!(has_session(&e, t).await, "{t} read: {reply}");
    }
    for t in neu {
        assert!(
            !has_session(&e, t).await,
            "{t} is the other host's: {reply}"
        );
    }
    // The other host's unit on the other instance.
    let (status, reply) = second.deliver(&of(&other_host()), 1).await;
    assert_eq!(status, 200, "{reply}");
    for t in neu {
        assert!(has_session(&e, t).await, "{t} read: {reply}");
    }
    // Five failed logins of one user on one VM, over two hosts: one digest per dimension.
    let (status, reply) = second.deliver(&of("join-and-detections"), 1).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(bursts(&reply), 2, "user and client IP: {reply}");

    let (_, health) = e.handler.get_json("/api/health").await;
    let p = &health["workUnits"]["AuditLogTail"];
    assert_eq!(
        [&p["planned"], &p["done"], &p["failed"], &p["running"]],
        [&json!(3), &json!(3), &json!(0), &json!(0)],
        "{health}"
    );
    // A redelivered unit of a period done runs nothing.
    let (status, reply) = e.handler.deliver(&of("join-and-detections"), 1).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(bursts(&reply), 0, "{reply}");
}
