//! The other-doors pass under faults, through the real handler's `EstateCheck`: the Activity log
//! read (Logs Query) answering 429 with `Retry-After`, 429 without it, and 504 (the service's
//! timeout), and the network reads (Resource Manager's NIC and NSG lists) answering 429 and 504,
//! are retried; each tick answers 200 (or 500, and its redelivery 200). A door opened before a
//! faulted tick is announced exactly once, a door open stays open (no `estate.resolved`), no
//! other finding is announced; a read that fails on every try leaves the doors as they were and
//! says so without an alert, and the next tick finds the door opened meanwhile.

use bastion_testkit::loganalytics::Fault;

use crate::estate::doors::{activity, scoped_rig, vm};
use crate::estate::fake_arm::SUB;
use crate::estate::network_doors::clean;
use crate::estate::{Rig, notifications, said};
use crate::harness::azurite;

const RUN: &str = "Microsoft.Compute/virtualMachines/runCommand/action";

/// One tick: 200, or 500 and a redelivery of the same tick that answers 200. Its notifications
/// as `(type, finding, host)`.
async fn tick(rig: &mut Rig, what: &str) -> Vec<(String, String, String)> {
    let inv = rig.next_timer("EstateCheck");
    let (mut status, mut body) = rig.handler.invoke("EstateCheck", &inv).await;
    if status == 500 {
        (status, body) = rig.handler.invoke("EstateCheck", &inv).await;
    }
    assert_eq!(status, 200, "{what}: {body}\n{}", rig.handler.log_text());
    said(&notifications(&body))
}

fn opened(finding: &str, host: &str) -> (String, String, String) {
    ("estate.finding".into(), finding.into(), host.into())
}

#[tokio::test]
async fn faulted_activity_and_network_reads_are_retried_and_no_door_is_lost_or_made_up() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
    rig.arm.with(clean);
    assert_eq!(
        tick(&mut rig, "clean").await,
        [],
        "a clean estate raises none"
    );
    // Which of a tick's queries is the first Activity log read: faults are placed on it.
    let queries = logs.received();
    let before = queries
        .iter()
        .position(|q| q.query.starts_with("AzureActivity"))
        .expect("the Activity log is read");
    let pass = || std::iter::repeat_n(Fault::Pass, before);

    // Two doors open: a Run Command on vm5 (Activity log) and a public IP on vm6 (network).
    activity(
        &logs,
        (RUN, "Start", "r1"),
        "alice@contoso.com",
        &vm("vm5"),
        "2026-11-25T11:40:00Z",
    );
    activity(
        &logs,
        (RUN, "Success", "r1"),
        "",
        &vm("vm5"),
        "2026-11-25T11:41:00Z",
    );
    rig.arm.with(|e| {
        for r in &mut e.network {
            if r["name"] == "nic-vm6" {
                r["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = serde_json::json!({"id":
                    format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/publicIPAddresses/pip-vm6")});
            }
        }
    });
    // Both reads throttled once (Retry-After 1 s): found within the tick, once each.
    logs.faults(pass().chain([Fault::Throttle(1)]));
    rig.arm
        .with(|e| e.faults_under = vec![("/networkinterfaces".into(), 429, 1)]);
    assert_eq!(
        tick(&mut rig, "429 with Retry-After").await,
        [
            opened("door:public-ip", "vm6"),
            opened("door:run-command", "vm5")
        ]
    );

    // Each fault once: the tick rides it out; nothing opens, nothing clears.
    for (what, la, arm) in [
        (
            "Logs Query 429 without Retry-After",
            Some(Fault::ThrottleBare),
            None,
        ),
        (
            "Logs Query 504",
            Some(Fault::Timeout(std::time::Duration::from_millis(200))),
            None,
        ),
        ("NIC list 504", None, Some(("/networkinterfaces", 504))),
        ("NSG list 429", None, Some(("/networksecuritygroups", 429))),
        ("NSG list 504", None, Some(("/networksecuritygroups", 504))),
    ] {
        if let Some(f) = la {
            logs.faults(pass().chain([f]));
        }
        if let Some((path, status)) = arm {
            rig.arm
                .with(|e| e.faults_under = vec![(path.into(), status, 2)]);
        }
        let fired = rig.arm.with(|e| e.faulted);
        assert_eq!(tick(&mut rig, what).await, [], "{what}");
        if arm.is_some() {
            assert!(
                rig.arm.with(|e| e.faulted) > fired,
                "{what}: the fault fired"
            );
        }
    }

    // Every try of the Activity log read throttled (the client's 5 tries) while a Run Command
    // opens on vm7: nothing announced, nothing cleared; the doors keep their state.
    activity(
        &logs,
        (RUN, "Success", "r2"),
        "bob@contoso.com",
        &vm("vm7"),
        "2026-11-25T12:05:00Z",
    );
    logs.faults(pass().chain(std::iter::repeat_n(Fault::Throttle(1), 5)));
    assert_eq!(tick(&mut rig, "every try faulted").await, []);
    // The next tick reads it again: the door opened meanwhile is found, none cleared.
    assert_eq!(
        tick(&mut rig, "after the faults").await,
        [opened("door:run-command", "vm7")]
    );
    let unfired = logs.faults_left();
    assert_eq!(unfired, 0, "every Logs Query fault was served");
}
