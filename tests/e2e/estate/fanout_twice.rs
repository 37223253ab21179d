//! A unit's message put twice (the output binding's put tried again after its answer was lost)
//! runs once: on Azurite through two real `handler` processes, both copies delivered as first
//! deliveries at once, then a third time after the unit is done. Each first delivery claims the
//! unit's row on the ETag the planner put in the message; the copy that finds the row changed
//! runs nothing, saying so; a copy delivered after the next period planned the unit again says
//! it was superseded by that period.

use futures::future::join_all;

use super::fake_arm::host_id;
use super::fanout::{two_instances, unit_of};
use crate::harness::{queue_outputs, unit_invocation};

#[tokio::test]
async fn a_units_message_put_twice_runs_the_unit_once() {
    let Some((mut rig, other, _)) = two_instances().await else {
        return;
    };
    let tick = rig.next_timer("LiveSessions");
    let (status, plan) = rig.handler.invoke_plan("LiveSessions", &tick).await;
    assert_eq!(status, 200, "{plan}");
    let units = queue_outputs(&plan, "workunits");
    let b1 = unit_of(&units, "b1");
    assert!(b1["etag"].as_str().is_some_and(|e| !e.is_empty()), "{b1}");
    let b1_reads = |rig: &super::Rig| {
        let host = host_id("b1").to_ascii_lowercase();
        rig.arm.with(|e| {
            (e.requests.iter())
                .filter(|r| r.to_ascii_lowercase().contains(&host))
                .count()
        })
    };
    let before = b1_reads(&rig);

    // The same message twice, each a first delivery, on two instances at once.
    let body = unit_invocation(&b1, 1);
    let replies = join_all([&rig.handler, &other].map(|h| h.invoke_plan("WorkUnit", &body))).await;
    let text: Vec<String> = replies.iter().map(|(_, r)| r.to_string()).collect();
    assert!(replies.iter().all(|(s, _)| *s == 200), "{text:?}");
    let skipped = (text.iter())
        .filter(|t| t.contains("another copy of its message claimed it"))
        .count();
    assert_eq!(skipped, 1, "one copy ran, one ran nothing: {text:?}");
    let once = b1_reads(&rig) - before;
    assert!(once > 0, "the unit read its host");

    // Delivered once more, after it is done: nothing read.
    let (status, reply) = other.invoke_plan("WorkUnit", &body).await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply
            .to_string()
            .contains("another copy of its message claimed it"),
        "{reply}"
    );
    assert_eq!(b1_reads(&rig) - before, once, "the unit ran once");
    let (_, health) = rig.handler.get_json("/api/health").await;
    let w = &health["workUnits"]["LiveSessions"];
    assert_eq!([&w["done"], &w["running"]], [1, 0], "{health}");

    // The next period plans b1 again; a copy of the first period's message delivered then finds
    // its row re-planned: superseded, named by the later period, and nothing read.
    let tick = rig.next_timer("LiveSessions");
    let (status, plan) = rig.handler.invoke_plan("LiveSessions", &tick).await;
    assert_eq!(status, 200, "{plan}");
    let later = unit_of(&queue_outputs(&plan, "workunits"), "b1");
    let period = later["period"].as_str().expect("period");
    assert_ne!(Some(period), b1["period"].as_str());
    let (status, reply) = other.invoke_plan("WorkUnit", &body).await;
    assert_eq!(status, 200, "{reply}");
    let said = reply.to_string();
    assert!(
        said.contains(&format!("superseded by period {period}")),
        "{said}"
    );
    assert!(!said.contains("another copy"), "{said}");
    assert_eq!(b1_reads(&rig) - before, once, "the unit ran once");
}
