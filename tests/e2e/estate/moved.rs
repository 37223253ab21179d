//! A watched VM that moves to another resource group stays watched, and its findings follow it,
//! end to end through the real handler's `EstateCheck`: the Activity log's
//! `moveResources/action` (its request body naming the VM and the target group) moves it, Resource
//! Manager confirms the VM at its new id by its `vmId`, the open door is carried over (not
//! cleared, not announced again), a door used at the new id outside every scope is raised, a
//! second move is followed from there, and both clear a day later where the VM is now.

use serde_json::{Value, json};

use bastion_testkit::loganalytics::FakeLogs;

use super::Rig;
use super::doors::{activity, activity_with, check_at, scoped_rig, vm};
use super::fake_arm::SUB;
use crate::harness::azurite;

const RUN: &str = "Microsoft.Compute/virtualMachines/runCommand/action";
const MOVE: &str = "Microsoft.Resources/subscriptions/resourceGroups/moveResources/action";
const VM_ID: &str = "5c1e2f3a-8b9c-4d0e-9f1a-2b3c4d5e6f70";

#[tokio::test]
async fn a_moved_vm_stays_watched_and_keeps_its_open_doors() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
    let old = vm("vm1").to_ascii_lowercase();
    let new = old.replace("/rg-app/", "/rg-other/");
    activity(
        &logs,
        (RUN, "Success", "r1"),
        "alice@contoso.com",
        &vm("vm1"),
        "2026-11-25T11:40:00Z",
    );
    assert_eq!(
        check_at(&mut rig, "2026-11-25T12:00:00.000Z").await,
        [(
            "estate.finding".into(),
            "door:run-command".into(),
            old.clone()
        )]
    );
    // vm1 moves to rg-other (outside every scope), keeping its vmId.
    move_vm(
        &rig,
        &logs,
        ("rg-app", "rg-other"),
        "m1",
        "2026-11-25T12:05:00Z",
    );
    // The door is carried to the new id: nothing clears, nothing is announced again.
    assert_eq!(check_at(&mut rig, "2026-11-25T12:15:00.000Z").await, []);
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let hosts: Vec<&Value> = items
        .iter()
        .filter(|i| i["finding"] == "door:run-command")
        .map(|i| &i["host"])
        .collect();
    assert_eq!(hosts, [&json!(new)], "{items:#?}");
    // A door used at the new id, outside the scope: the moved VM is still watched.
    let serial = format!("{new}/providers/microsoft.serialconsole/serialports/0");
    let connect = "Microsoft.SerialConsole/serialPorts/connect/action";
    activity(
        &logs,
        (connect, "Success", "s1"),
        "carol@contoso.com",
        &serial,
        "2026-11-25T12:20:00Z",
    );
    assert_eq!(
        check_at(&mut rig, "2026-11-25T12:30:00.000Z").await,
        [(
            "estate.finding".into(),
            "door:serial-console".into(),
            new.clone()
        )]
    );
    // It moves again, to rg-third: followed from rg-other, its doors carried again.
    move_vm(
        &rig,
        &logs,
        ("rg-other", "rg-third"),
        "m2",
        "2026-11-25T12:40:00Z",
    );
    assert_eq!(check_at(&mut rig, "2026-11-25T12:45:00.000Z").await, []);
    let third = old.replace("/rg-app/", "/rg-third/");
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let mut doors: Vec<(&Value, &Value)> = items
        .iter()
        .filter(|i| {
            i["finding"]
                .as_str()
                .is_some_and(|f| f.starts_with("door:"))
        })
        .map(|i| (&i["finding"], &i["host"]))
        .collect();
    doors.sort_by_key(|(f, _)| f.to_string());
    let third_id = json!(third);
    assert_eq!(
        doors,
        [
            (&json!("door:run-command"), &third_id),
            (&json!("door:serial-console"), &third_id)
        ],
        "{items:#?}"
    );
    // A day later both uses left the window: each clears once, where the VM is now.
    let resolved = |f: &str| ("estate.resolved".to_owned(), f.to_owned(), third.clone());
    assert_eq!(
        check_at(&mut rig, "2026-11-26T13:00:00.000Z").await,
        [
            resolved("door:run-command"),
            resolved("door:serial-console")
        ]
    );
}

/// vm1 moves from group `from` to group `to` (its `Start` row carrying the request body, as the
/// Resources specification's `Resources_MoveResources` request has it), keeping its vmId.
fn move_vm(rig: &Rig, logs: &FakeLogs, (from, to): (&str, &str), correlation: &str, at: &str) {
    let id = |g: &str| vm("vm1").replace("/rg-app/", &format!("/{g}/"));
    rig.arm
        .with(|e| e.vm_ids.insert(id(to).to_ascii_lowercase(), VM_ID.into()));
    let group = format!("/subscriptions/{SUB}/resourceGroups/{from}");
    let body = json!({"resources": [id(from)],
        "targetResourceGroup": format!("/subscriptions/{SUB}/resourceGroups/{to}")});
    let start = json!({"statusCode": "Accepted", "requestbody": body.to_string()});
    for (status, properties) in [("Start", start), ("Success", json!({"statusCode": "OK"}))] {
        let op = (MOVE, status, correlation);
        activity_with(logs, op, "bob@contoso.com", &group, at, properties);
    }
}
