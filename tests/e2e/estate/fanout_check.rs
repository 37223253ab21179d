//! `EstateCheck` fanned out through the work queue, on Azurite through two real `handler`
//! processes (the test plays the queue: [`HandlerProcess::deliver`]): one tick plans one unit per
//! host and one for what spans hosts, whichever instance ticks; each host's unit, on its own
//! instance, settles its own host's recording identity alone; the unit spanning hosts may run
//! before a host's; `/api/health` counts the period; the alerts are those of a single-instance run
//! of the same estate.

use serde_json::{Value, json};

use super::fake_arm::host_id;
use super::{ACCOUNT, Rig, notifications, said};
use crate::harness::{HandlerProcess, queue_outputs};

/// Two watched hosts recording into the watched container.
async fn two_hosts(cs: &str) -> Rig {
    let hosts = ["b1", "b2"].map(host_id).join(",");
    let rig = Rig::new(cs, &[("BASTION_HOSTS", hosts.as_str())]).await;
    let container = rig.env.recordings().to_owned();
    rig.arm
        .with(|e| e.add_healthy("b2", ACCOUNT, &container, ACCOUNT));
    rig
}

/// Both hosts move their recordings to another container; `b2` also allows the native client.
fn both_move(rig: &Rig) {
    rig.arm.with(|e| {
        for h in ["b1", "b2"] {
            e.host(h)["properties"]["sessionRecordingConfiguration"]["blobContainerUri"] =
                json!(format!("https://{ACCOUNT}.blob.core.windows.net/elsewhere"));
        }
        e.host("b2")["properties"]["enableTunneling"] = json!(true);
    });
}

/// The hosts whose recording identity in the watched container at `t` is not read yet (an open
/// history not read at `t`), lower-case.
async fn unread_at(rig: &Rig, t: &str) -> Vec<String> {
    let t = bastion_recordings::dates::timestamp(t).expect("time");
    let container = rig.env.recordings().to_owned();
    let tables = rig.tables();
    let ids = bastion_recordings::catalogue::identity::of(&tables, ACCOUNT, &container).await;
    ids.expect("identities").at(Some(t)).unknown_hosts
}

#[tokio::test]
async fn each_hosts_unit_settles_its_own_identity_and_the_alerts_are_a_single_runs() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    // The single-instance run of the same estate: every unit inline.
    let mut single = two_hosts(&cs).await;
    single.check().await;
    both_move(&single);
    let alone = said(&single.check().await);
    assert!(!alone.is_empty(), "the move raises findings");

    let mut rig = two_hosts(&cs).await;
    let other = HandlerProcess::spawn(&rig.env.pairs()).await;
    rig.check().await;
    both_move(&rig);
    let tick = rig.next_timer("EstateCheck");
    let at = tick["Metadata"]["sys"]["UtcNow"]
        .as_str()
        .expect("at")
        .to_owned();
    let soon = bastion_recordings::dates::timestamp(&at).expect("at") + time::Duration::seconds(30);
    let soon = bastion_recordings::dates::format_utc_millis(soon);
    let (status, plan) = rig.handler.invoke_plan("EstateCheck", &tick).await;
    assert_eq!(status, 200, "{plan}");
    let (status, again) = other.invoke_plan("EstateCheck", &tick).await;
    assert_eq!(status, 200, "{again}");
    assert!(queue_outputs(&again, "workunits").is_empty(), "{again}");
    let units = queue_outputs(&plan, "workunits");
    assert_eq!(units.len(), 3, "two hosts and what spans them: {units:?}");
    let of = |unit: &str| {
        units
            .iter()
            .find(|u| u["unit"] == unit)
            .unwrap_or_else(|| panic!("no unit {unit} in {units:?}"))
            .clone()
    };
    let mut sent: Vec<Value> = Vec::new();
    let mut run = async |h: &HandlerProcess, unit: &str, dequeue: u32| {
        let (status, reply) = h.deliver(&of(unit), dequeue).await;
        assert_eq!(status, 200, "{unit}: {reply}");
        sent.extend(notifications(&reply));
    };
    let (b1, b2) = (host_id("b1"), host_id("b2"));
    run(&rig.handler, &b1, 1).await;
    assert_eq!(
        unread_at(&rig, &soon).await,
        [b2.to_ascii_lowercase()],
        "b1's unit closed b1's identity alone"
    );
    // What spans hosts runs before b2's unit, on the other instance (its last delivery: the
    // earlier ones wait for b2's unit).
    run(&other, "doors-and-settling", 5).await;
    run(&other, &b2, 1).await;
    assert!(
        unread_at(&rig, &soon).await.is_empty(),
        "b2's unit closed b2's"
    );
    assert_eq!(said(&sent), alone, "the alerts of the single-instance run");

    let (_, health) = rig.handler.get_json("/api/health").await;
    let p = &health["workUnits"]["EstateCheck"];
    assert_eq!(
        [&p["planned"], &p["done"], &p["failed"], &p["running"]],
        [&json!(3), &json!(3), &json!(0), &json!(0)],
        "{health}"
    );
}
