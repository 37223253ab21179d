//! `LiveSessions` fanned out through the work queue, on Azurite through real `handler` processes
//! (the harness plays the queue: [`HandlerProcess::deliver`]): two instances plan one tick once;
//! a period's units run once each over two instances, one of them killed mid-unit (its message's
//! redelivery takes the unit over); a duplicate delivery runs nothing; a unit failing every
//! delivery ends poisoned and named in `/api/health`; the findings, sessions and alerts are those
//! of the single-instance run.

use futures::future::join_all;
use serde_json::{Value, json};

use super::fake_arm::host_id;
use super::{ACCOUNT, Rig, said};
use crate::harness::{HandlerProcess, MAX_DEQUEUE, queue_outputs, unit_invocation};

/// Three watched hosts: `b1` with a native-client session (never recorded), `b2` with a portal
/// session, `b3` idle.
pub(super) async fn three_hosts(cs: &str) -> Rig {
    let hosts = ["b1", "b2", "b3"].map(host_id).join(",");
    let rig = Rig::new(cs, &[("BASTION_HOSTS", hosts.as_str())]).await;
    let container = rig.env.recordings().to_owned();
    rig.arm.with(|e| {
        e.add_healthy("b2", ACCOUNT, &container, ACCOUNT);
        e.add_healthy("b3", ACCOUNT, &container, ACCOUNT);
        e.host("b1")["properties"]["enableTunneling"] = json!(true);
        let session = |id: &str, user: &str| json!({"sessionId": id, "startTime": "2026-11-25T12:00:00.0000Z",
            "targetSubscriptionId": super::fake_arm::SUB, "resourceType": "VM", "targetHostName": "vm-app-01",
            "targetResourceGroup": "rg-app-weu", "userName": user, "targetIpAddress": "10.10.1.4",
            "protocol": "SSH", "sessionDurationInMins": 1.5});
        e.sessions.insert(host_id("b1").to_ascii_lowercase(), vec![session("s-native", "")]);
        e.sessions.insert(host_id("b2").to_ascii_lowercase(), vec![session("s-portal", "alice")]);
    });
    rig
}

/// [`three_hosts`] on Azurite with a second instance, and Azurite's connection string (`None`
/// without Azurite).
pub(super) async fn two_instances() -> Option<(Rig, HandlerProcess, String)> {
    let cs = crate::harness::azurite()?;
    let rig = three_hosts(&cs).await;
    let other = HandlerProcess::spawn(&rig.env.pairs()).await;
    Some((rig, other, cs))
}

/// The unit of host `name` among a plan's `units`.
pub(super) fn unit_of(units: &[Value], name: &str) -> Value {
    (units.iter())
        .find(|u| {
            u["unit"]
                .as_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&host_id(name)))
        })
        .expect("the host's unit")
        .clone()
}

/// The `livesessions` rows as `(host partition, session id, status)`, sorted.
pub(super) async fn live_rows(rig: &Rig) -> Vec<(String, String, String)> {
    let t = rig.tables();
    let rows = bastion_recordings::tables::TableStore::query(&t, "livesessions", None, None, None)
        .await
        .expect("livesessions");
    let s = |e: &bastion_recordings::tables::Entity, k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut out: Vec<_> = rows
        .items
        .iter()
        .map(|r| {
            (
                s(&r.entity, "PartitionKey"),
                s(&r.entity, "SessionId"),
                s(&r.entity, "Status"),
            )
        })
        .collect();
    out.sort();
    out
}

fn health_units(health: &Value) -> &Value {
    &health["workUnits"]["LiveSessions"]
}

#[tokio::test]
async fn a_period_runs_each_unit_once_over_two_instances_one_killed_mid_unit() {
    let Some((mut rig, other, cs)) = two_instances().await else {
        return;
    };
    // One tick planned by both instances at once (and run twice): one plan, three units.
    let tick = rig.next_timer("LiveSessions");
    let plans =
        join_all([&rig.handler, &other].map(|h| h.invoke_plan("LiveSessions", &tick))).await;
    let again = rig.handler.invoke_plan("LiveSessions", &tick).await;
    let mut units = Vec::new();
    for (status, body) in plans.iter().chain([&again]) {
        assert_eq!(*status, 200, "{body}");
        units.extend(queue_outputs(body, "workunits"));
    }
    assert_eq!(units.len(), 3, "{plans:?} {again:?}");
    let mut covered: Vec<_> = units
        .iter()
        .map(|u| u["unit"].as_str().unwrap_or_default().to_ascii_lowercase())
        .collect();
    covered.sort();
    let mut hosts: Vec<_> = ["b1", "b2", "b3"]
        .map(|h| host_id(h).to_ascii_lowercase())
        .into();
    hosts.sort();
    assert_eq!(covered, hosts);

    // The instance running b1's unit dies mid-way (Resource Manager answers slowly).
    let b1 = unit_of(&units, "b1");
    let mut doomed = HandlerProcess::spawn(&rig.env.pairs()).await;
    rig.arm
        .with(|e| e.latency = std::time::Duration::from_secs(30));
    let arrived = |rig: &super::Rig| rig.arm.with(|e| e.arrived);
    let before = arrived(&rig);
    let url = doomed.url("/WorkUnit");
    let body = unit_invocation(&b1, 1);
    let first =
        tokio::spawn(async move { reqwest::Client::new().post(url).json(&body).send().await });
    // Killed once it has started the unit (its first read of b1 arrived); the health shows the
    // unit running (claimed on its row; its message invisible to the others meanwhile) and the
    // two others queued.
    for _ in 0..100 {
        if arrived(&rig) > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(arrived(&rig) > before, "b1's unit never started");
    let (_, claimed) = other.get_json("/api/health").await;
    let w = health_units(&claimed);
    assert_eq!([&w["queued"], &w["running"]], [2, 1], "{claimed}");
    doomed.child.kill().await.expect("kill");
    assert!(
        first.await.expect("join").is_err(),
        "the killed instance answered"
    );
    rig.arm.with(|e| e.latency = std::time::Duration::ZERO);

    // Its message comes back (dequeue 2) to the other instance, which runs the unit; the other
    // units are spread; the message delivered once more (its delete lost) runs nothing.
    let mut said_all = Vec::new();
    let (s, r) = other
        .invoke_plan("WorkUnit", &unit_invocation(&b1, 2))
        .await;
    assert_eq!(s, 200, "{r}");
    said_all.extend(queue_outputs(&r, "notifications"));
    for (u, h) in units
        .iter()
        .filter(|u| **u != b1)
        .zip([&rig.handler, &other])
    {
        let (s, r) = h.deliver(u, MAX_DEQUEUE).await;
        assert_eq!(s, 200, "{r}");
        said_all.extend(queue_outputs(&r, "notifications"));
    }
    let before = arrived(&rig);
    let dup = rig
        .handler
        .invoke_plan("WorkUnit", &unit_invocation(&b1, 3))
        .await;
    assert_eq!(dup.0, 200, "{}", dup.1);
    assert_eq!(arrived(&rig), before, "a done unit read its host again");
    assert!(
        queue_outputs(&dup.1, "notifications").is_empty(),
        "{}",
        dup.1
    );
    let (_, health) = rig.handler.get_json("/api/health").await;
    let p = health_units(&health);
    assert_eq!(
        [&p["planned"], &p["done"], &p["failed"], &p["running"]],
        [&json!(3), &json!(3), &json!(0), &json!(0)],
        "{health}"
    );
    let kinds: Vec<_> = said_all
        .iter()
        .map(|n| n["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds, ["session.unrecordable"], "{said_all:?}");
    let fanned = live_rows(&rig).await;

    // The same estate on one instance (its own tables), the harness running each unit inline.
    let mut single = three_hosts(&cs).await;
    let alone = single.live_at(1).await;
    assert_eq!(said(&alone), said(&said_all));
    assert_eq!(live_rows(&single).await, fanned);
    assert_eq!(fanned.len(), 2, "{fanned:?}");
}

#[tokio::test]
async fn a_unit_failing_every_delivery_is_poisoned_and_named_in_health() {
    let Some((mut rig, other, _)) = two_instances().await else {
        return;
    };
    // b2 refuses its reads: the first period opens its finding (the unit delivers the alert).
    let b2 = host_id("b2");
    rig.arm.with(|e| e.forbid.push(b2.to_ascii_lowercase()));
    let first = rig.live_at(1).await;
    assert!(
        said(&first)
            .iter()
            .any(|(t, f, _)| t == "estate.finding" && f == "check-failed:live-sessions"),
        "{first:?}"
    );
    // The next period: its unit fails each of its five deliveries, over both instances.
    poison_period(&mut rig, &other, &b2, false).await;
    let (_, health) = other.get_json("/api/health").await;
    let p = health_units(&health);
    assert_eq!(
        [&p["planned"], &p["done"], &p["failed"]],
        [&json!(3), &json!(2), &json!(1)],
        "{health}"
    );
    assert_eq!(p["poisoned"], json!([b2]), "{health}");
    named_once(&health, &b2, "1 period running");
    // The period after, still failing: planned again, and its last delivery is answered (its
    // message not moved to the poison queue again); health names it once, two periods running.
    poison_period(&mut rig, &other, &b2, true).await;
    let (_, health) = rig.handler.get_json("/api/health").await;
    let p = health_units(&health);
    assert_eq!(p["poisonedPeriods"][&b2], 2, "{health}");
    named_once(&health, &b2, "2 periods running");
    // It recovers: done, and no longer named.
    rig.arm.with(|e| e.forbid.clear());
    rig.live_at(10).await;
    let (_, health) = other.get_json("/api/health").await;
    assert_eq!(health["poisonedUnits"], json!([]), "{health}");
}

/// One period planned (every host, `b2` too) and delivered: `b2`'s unit fails each delivery
/// over both instances, its last one answered 200 when `again` (poisoned the period before).
async fn poison_period(rig: &mut super::Rig, other: &HandlerProcess, b2: &str, again: bool) {
    let tick = rig.next_timer("LiveSessions");
    let (status, plan) = rig.handler.invoke_plan("LiveSessions", &tick).await;
    assert_eq!(status, 200, "{plan}");
    let units = queue_outputs(&plan, "workunits");
    assert_eq!(units.len(), 3, "{plan}");
    for u in &units {
        let failing = u["unit"]
            .as_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(b2));
        for dequeue in 1..=MAX_DEQUEUE {
            let h = if dequeue % 2 == 0 {
                other
            } else {
                &rig.handler
            };
            let (s, r) = h
                .invoke_plan("WorkUnit", &unit_invocation(u, dequeue))
                .await;
            let answered = !failing || (again && dequeue == MAX_DEQUEUE);
            assert_eq!(s, if answered { 200 } else { 500 }, "{r}");
            if !failing {
                break;
            }
        }
    }
}

/// `b2` named once in the health's reasons and poisoned units, with `periods`.
fn named_once(health: &Value, b2: &str, periods: &str) {
    let named = format!("LiveSessions: {b2}, {periods}");
    assert_eq!(health["poisonedUnits"], json!([named]), "{health}");
    let reasons = health["reasons"].as_array().cloned().unwrap_or_default();
    let about: Vec<_> = reasons
        .iter()
        .filter(|r| r.as_str().is_some_and(|r| r.contains(b2)))
        .collect();
    assert_eq!(
        about,
        [&json!(format!("work unit poisoned: {named}"))],
        "{health}"
    );
}
