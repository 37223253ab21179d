//! A 429 on one subscription's reads, with `LiveSessions` fanned out over two real `handler`
//! processes on Azurite: the pause is recorded where both instances see it (table `armpauses`),
//! so the units of that subscription on either instance wait it out (or, paused past their
//! budget, are deferred without being poisoned) and read nothing from it meanwhile, while the
//! other subscription's units run at once; the results are those of an unthrottled run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};

use super::fake_arm::{Estate, SUB, host_id};
use super::fanout::live_rows;
use super::{ACCOUNT, Rig, said};
use crate::harness::{HandlerProcess, MAX_DEQUEUE, queue_outputs};

/// The subscription that is not throttled.
const OTHER: &str = "99999999-2222-3333-4444-555555555555";

/// `name`'s id in `sub`.
fn id_in(sub: &str, name: &str) -> String {
    host_id(name).replace(SUB, sub)
}

/// Hosts `a1`, `a2` in [`SUB`] and `c1`, `c2` in [`OTHER`]; `a1` and `c1` each with a live
/// native-client session (announced as never recorded).
async fn two_subscriptions(cs: &str) -> Rig {
    let hosts = [("a1", SUB), ("a2", SUB), ("c1", OTHER), ("c2", OTHER)];
    let watched = hosts.map(|(h, s)| id_in(s, h)).join(",");
    let rig = Rig::new(cs, &[("BASTION_HOSTS", watched.as_str())]).await;
    let container = rig.env.recordings().to_owned();
    rig.arm.with(|e: &mut Estate| {
        for (name, sub) in hosts {
            e.add_healthy(name, ACCOUNT, &container, ACCOUNT);
            let mut host = e.hosts.remove(&host_id(name).to_ascii_lowercase()).expect("host");
            host["id"] = json!(id_in(sub, name));
            host["properties"]["enableTunneling"] = json!(true);
            e.hosts.insert(id_in(sub, name).to_ascii_lowercase(), host);
        }
        for (name, sub) in [("a1", SUB), ("c1", OTHER)] {
            let session = json!({"sessionId": format!("s-{name}"), "startTime": "2026-11-25T12:00:00.0000Z",
                "targetSubscriptionId": sub, "resourceType": "VM", "targetHostName": "vm-app-01",
                "targetResourceGroup": "rg-app-weu", "userName": "", "targetIpAddress": "10.10.1.4",
                "protocol": "SSH", "sessionDurationInMins": 1.5});
            e.sessions.insert(id_in(sub, name).to_ascii_lowercase(), vec![session]);
        }
    });
    rig
}

/// Every request the fake sees from now on: when, method, lower-case path.
fn watch(rig: &Rig) -> Arc<Mutex<Vec<(Instant, String, String)>>> {
    let seen: Arc<Mutex<Vec<(Instant, String, String)>>> = Arc::default();
    let log = seen.clone();
    rig.arm.with(|e| {
        e.observer = Some(Arc::new(move |m: &str, p: &str| {
            let entry = (Instant::now(), m.to_owned(), p.to_ascii_lowercase());
            log.lock().expect("log").push(entry);
        }));
    });
    seen
}

/// The reads of [`SUB`] seen.
fn reads_of_sub(seen: &Mutex<Vec<(Instant, String, String)>>) -> Vec<Instant> {
    let prefix = format!("/subscriptions/{SUB}/");
    let seen = seen.lock().expect("log");
    seen.iter()
        .filter(|(_, m, p)| m == "GET" && p.starts_with(&prefix))
        .map(|(t, _, _)| *t)
        .collect()
}

/// The tick's four units by host name.
async fn planned(rig: &mut Rig) -> Vec<(String, Value)> {
    let tick = rig.next_timer("LiveSessions");
    let (status, plan) = rig.handler.invoke_plan("LiveSessions", &tick).await;
    assert_eq!(status, 200, "{plan}");
    let units = queue_outputs(&plan, "workunits");
    assert_eq!(units.len(), 4, "{plan}");
    units
        .into_iter()
        .map(|u| {
            let id = u["unit"].as_str().unwrap_or_default();
            (bastion_recordings::arm::resource_name(id).to_owned(), u)
        })
        .collect()
}

fn unit<'a>(units: &'a [(String, Value)], name: &str) -> &'a Value {
    &units.iter().find(|(n, _)| n == name).expect("unit").1
}

/// Waits until some instance has recorded a pause in `armpauses`.
async fn pause_recorded(rig: &Rig) {
    let t = rig.tables();
    for _ in 0..100 {
        let rows = bastion_recordings::tables::TableStore::query(&t, "armpauses", None, None, None);
        if rows.await.is_ok_and(|r| !r.items.is_empty()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pause recorded in armpauses");
}

#[tokio::test]
async fn a_429_on_one_subscription_pauses_its_units_on_both_instances_only() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    const WAIT: u64 = 4;
    let mut rig = two_subscriptions(&cs).await;
    let other = HandlerProcess::spawn(&rig.env.pairs()).await;
    let seen = watch(&rig);
    rig.arm.with(|e| {
        e.throttle_wait = WAIT;
        e.faults_under
            .push((format!("get /subscriptions/{SUB}/"), 429, 1));
    });
    let units = planned(&mut rig).await;
    // a1 on the first instance meets the 429 and waits its Retry-After, while the other units
    // run: a2 on the other instance, which has not seen the 429 itself.
    let first = rig.handler.deliver(unit(&units, "a1"), MAX_DEQUEUE);
    let units = &units;
    let rest = async {
        pause_recorded(&rig).await;
        let started = Instant::now();
        let rest =
            [("a2", &other), ("c1", &other), ("c2", &rig.handler)].map(|(n, h)| async move {
                let reply = h.deliver(unit(units, n), MAX_DEQUEUE).await;
                (n, reply, Instant::now())
            });
        (started, join_all(rest).await)
    };
    let (first, (started, rest)) = tokio::join!(first, rest);
    assert_eq!(first.0, 200, "{}", first.1);
    let throttled = reads_of_sub(&seen)[0];
    let ends = throttled + Duration::from_secs(WAIT) - Duration::from_millis(20);
    let mut said_all = queue_outputs(&first.1, "notifications");
    for (name, (status, reply), done) in &rest {
        assert_eq!(*status, 200, "{name}: {reply}");
        said_all.extend(queue_outputs(reply, "notifications"));
        if name.starts_with('c') {
            assert!(
                *done < ends,
                "{name} waited for another subscription's pause"
            );
        }
    }
    assert!(
        started < ends,
        "the other units were delivered during the pause"
    );
    // Neither instance read the throttled subscription during its pause: a1's retry and a2's
    // read come after it.
    let reads = reads_of_sub(&seen);
    assert!(reads.len() >= 3, "the 429, a1 retried, a2 read: {reads:?}");
    for t in &reads[1..] {
        assert!(*t >= ends, "read {:?} into the pause", *t - throttled);
    }
    let (_, health) = other.get_json("/api/health").await;
    let p = &health["workUnits"]["LiveSessions"];
    assert_eq!(
        [&p["planned"], &p["done"], &p["failed"]],
        [&json!(4), &json!(4), &json!(0)],
        "{health}"
    );

    // The same estate unthrottled, on one instance: the same sessions and announcements.
    let mut single = two_subscriptions(&cs).await;
    let alone = single.live_at(1).await;
    assert_eq!(said(&alone), said(&said_all));
    assert_eq!(said(&alone).len(), 2, "{alone:?}");
    assert_eq!(live_rows(&single).await, live_rows(&rig).await);
}

#[tokio::test]
async fn a_pause_past_the_units_budget_defers_them_on_the_other_instance_without_poison() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let mut rig = two_subscriptions(&cs).await;
    let other = HandlerProcess::spawn(&rig.env.pairs()).await;
    let seen = watch(&rig);
    rig.arm.with(|e| {
        e.throttle_wait = 600;
        e.faults_under
            .push((format!("get /subscriptions/{SUB}/"), 429, 1));
    });
    let units = planned(&mut rig).await;
    let (status, reply) = rig.handler.deliver(unit(&units, "a1"), MAX_DEQUEUE).await;
    assert_eq!(status, 200, "a1 meets the 429 (its read fails): {reply}");
    pause_recorded(&rig).await;
    let a2 = id_in(SUB, "a2").to_ascii_lowercase();
    let before = seen.lock().expect("log").len();
    // a2's five deliveries on the other instance: retried by the queue, then sent again as a new
    // message rather than poisoned; it calls nothing.
    let (status, reply) = other.deliver(unit(&units, "a2"), MAX_DEQUEUE).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        queue_outputs(&reply, "workunits"),
        [unit(&units, "a2").clone()],
        "{reply}"
    );
    let after = seen.lock().expect("log")[before..].to_vec();
    assert!(
        after.iter().all(|(_, _, p)| !p.starts_with(&a2)),
        "{after:?}"
    );
    for (name, h) in [("c1", &other), ("c2", &rig.handler)] {
        let started = Instant::now();
        let (status, reply) = h.deliver(unit(&units, name), 1).await;
        assert_eq!(status, 200, "{name}: {reply}");
        assert!(started.elapsed() < Duration::from_secs(30), "{name} waited");
    }
    let (_, health) = rig.handler.get_json("/api/health").await;
    let p = &health["workUnits"]["LiveSessions"];
    assert_eq!(
        [&p["done"], &p["poisoned"]],
        [&json!(3), &json!([])],
        "{health}"
    );
    assert_eq!(health["poisonedUnits"], json!([]), "{health}");
    // The deferred unit is shown, with the scope whose pause deferred it.
    let deferred = json!([{"unit": unit(&units, "a2")["unit"],
        "scope": format!("{SUB}/microsoft.network")}]);
    assert_eq!(
        [&p["deferred"], &p["deferredUnits"]],
        [&json!(1), &deferred],
        "{health}"
    );
}
