//! `Reconcile` fanned out per source through the work queue, with one account stopped, on two real
//! `handler` processes (the test plays the queue: [`crate::harness::HandlerProcess::deliver`]): the running
//! account's unannounced recording is catalogued by its own unit on one instance, while the stopped
//! account's unit fails every delivery on the other and ends poisoned, named in `/api/health`; the
//! old single run failed as a whole and skipped the bursts and stalled checks after it.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::rig::{HOSTS, Sources, accounts};
use crate::harness::{MAX_DEQUEUE, queue_outputs};

const NAME: &str = "2025/unannounced.mp4";

#[tokio::test]
async fn each_source_is_its_own_unit_and_a_stopped_one_fails_only_its_own() {
    let Some(accounts) = accounts() else { return };
    let s = Sources::new(accounts);
    let (weu, neu) = (HOSTS[0], HOSTS[1]);
    let vars = s.stopping(neu.0);
    let (one, two) = (Sources::spawn(&vars).await, Sources::spawn(&vars).await);
    s.upload(weu.1, NAME, "vm-app-01").await;

    let tick = Sources::timer("Reconcile", OffsetDateTime::now_utc());
    let (status, plan) = one.invoke_plan("Reconcile", &tick).await;
    assert_eq!(status, 200, "{plan}");
    let units = queue_outputs(&plan, "workunits");
    let names: Vec<&str> = units.iter().filter_map(|u| u["unit"].as_str()).collect();
    let of = |name: String| -> Value {
        units
            .iter()
            .find(|u| u["unit"] == name.as_str())
            .unwrap_or_else(|| panic!("no unit {name} in {names:?}"))
            .clone()
    };
    assert_eq!(
        units.len(),
        5,
        "two sources of each kind and the bursts: {names:?}"
    );
    let running = of(format!("recordings {}/{}", weu.1, s.rec));
    let stopped = of(format!("recordings {}/{}", neu.1, s.rec));

    // The running source's unit on the second instance catalogues its recording.
    let (status, reply) = two.deliver(&running, 1).await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply.to_string().contains("1 recordings catalogued"),
        "{reply}"
    );
    assert_eq!(s.rows().await.len(), 1);
    // The stopped source's unit fails every delivery on the first: poisoned, named.
    let (status, reply) = one.deliver(&stopped, MAX_DEQUEUE).await;
    assert_eq!(status, 500, "{reply}");
    for u in &units {
        if u["unit"] != running["unit"] && u["unit"] != stopped["unit"] {
            let (status, reply) = one.deliver(u, MAX_DEQUEUE).await;
            let stopped_logs = u["unit"] == format!("audit-logs {}/{}", neu.1, s.logs).as_str();
            assert_eq!(status, if stopped_logs { 500 } else { 200 }, "{u} {reply}");
        }
    }
    let (_, health) = two.get_json("/api/health").await;
    let p = &health["workUnits"]["Reconcile"];
    assert_eq!(
        [&p["planned"], &p["done"], &p["failed"]],
        [&json!(5), &json!(3), &json!(2)],
        "{health}"
    );
    let poisoned = health["poisonedUnits"].to_string();
    assert!(
        poisoned.contains(&format!("Reconcile: recordings {}/{}", neu.1, s.rec)),
        "{health}"
    );
}
