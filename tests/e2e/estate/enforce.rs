//! Authorization enforcement end to end (`AUTHZ_ENFORCE=disconnect`): the real handler's
//! `EstateCheck` decides four sessions from PIM's schedules (alice `pim`, bob and frank `none`,
//! carol `unknown`: her subscription's list refused), Bastion's fake reports them live, and
//! `LiveSessions` disconnects only bob's (`none`, VM tagged `bastion-authz=enforce`, past
//! `AUTHZ_GRACE_MINUTES`): not before the grace, not frank's (VM untagged), never carol's
//! (`unknown`), once across ticks even while Bastion still lists it, and not at all in `report`
//! mode. The disconnect is recorded in `disconnects` with the product as who and the verdict as
//! why, and announced as `session.disconnected`.

use bastion_recordings::tables::Filter;
use bastion_recordings::tables::ops::query_all;
use serde_json::{Value, json};

use super::authorization::{DENIED, sessions_arrive, vm};
use super::doors::check_at;
use super::fake_arm::{SUB, host_id};
use super::{Rig, notifications};
use crate::harness::{HandlerProcess, azurite, fixture};

/// A live session as `getActiveSessions` gives it (the REST specs' example shape) on `vm_id`.
fn live(id: &str, vm_id: &str, start: &str) -> Value {
    let (sub, name) = (vm_id.split('/').nth(2), vm_id.rsplit('/').next());
    json!({"sessionId": id, "startTime": start, "targetSubscriptionId": sub, "resourceType": "VM",
        "targetHostName": name, "targetResourceGroup": "rg-app", "userName": "azureuser",
        "targetIpAddress": "10.10.1.4", "protocol": "SSH", "targetResourceId": vm_id,
        "sessionDurationInMins": 60.0})
}

/// One `LiveSessions` tick of `h` at `at`: the `session.disconnected` notifications.
async fn tick(h: &HandlerProcess, at: &str) -> Vec<Value> {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("LiveSessions");
    inv["Metadata"]["sys"]["UtcNow"] = json!(at);
    let (status, body) = h.invoke("LiveSessions", &inv).await;
    assert_eq!(status, 200, "{body}\n{}", h.log_text());
    let all = notifications(&body);
    all.into_iter()
        .filter(|n| n["type"] == "session.disconnected")
        .collect()
}

#[tokio::test]
async fn only_a_tagged_vms_none_session_past_its_grace_is_disconnected_once() {
    let Some(cs) = azurite() else { return };
    let (_logs, env) = super::doors::quiet_workspace().await;
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("BASTION_DISCONNECT", "true"),
        ("AUTHZ_ENFORCE", "disconnect"),
        ("AUTHZ_GRACE_MINUTES", "75"),
    ]);
    let mut rig = Rig::new(&cs, &env).await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let alice = "a3bb8764-cb92-4276-9d2a-ca1e895e55ea";
    let (vm_a, vm_b, vm_c, vm_f) = (
        vm(SUB, "vm-a"),
        vm(SUB, "vm-b"),
        vm(DENIED, "vm-c"),
        vm(SUB, "vm-f"),
    );
    let enforce = json!({"bastion-authz": "enforce", "env": "prod"});
    rig.arm.with(|e| {
        let window = ("2026-11-25T07:45:00Z", Some("2026-11-25T15:45:00Z"));
        let who = (alice, "alice@contoso.com");
        let pim = super::authorization::instance("pim-alice", who, &rg, true, window);
        e.schedules
            .insert(format!("/subscriptions/{SUB}"), (vec![pim], Vec::new()));
        e.forbid.push(format!(
            "/subscriptions/{DENIED}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances"
        ));
        for (i, v) in [&vm_a, &vm_b, &vm_c, &vm_f].into_iter().enumerate() {
            let key = v.to_ascii_lowercase();
            e.vm_ids.insert(key.clone(), format!("0000000{i}-0000-0000-0000-000000000000"));
            // Tag names are case-insensitive in Azure: vm-b's is written in capitals.
            let tags = match i {
                1 => json!({"Bastion-Authz": "enforce"}),
                3 => json!({"env": "prod"}),
                _ => enforce.clone(),
            };
            e.vm_tags.insert(key, tags);
        }
    });
    let sessions = [
        ("00a", "alice@contoso.com", vm_a.clone()),
        ("00b", "bob@contoso.com", vm_b.clone()),
        ("00c", "carol@contoso.com", vm_c.clone()),
        ("00d", "frank@contoso.com", vm_f.clone()),
    ];
    sessions_arrive(&rig, &cs, &sessions).await;
    check_at(&mut rig, "2026-11-25T09:00:00Z").await;
    // Alice's live session carries her tunnel id; the others' ids are Bastion's own.
    let bob = live("live-bob", &vm_b, "2026-11-25T08:01:30.0000Z");
    let listed = vec![
        live(
            "5f0c2d7e-8b1a-4c3e-9d2f-000000000a",
            &vm_a,
            "2026-11-25T08:00:30.0000Z",
        ),
        bob.clone(),
        live("live-carol", &vm_c, "2026-11-25T08:02:30.0000Z"),
        live("live-frank", &vm_f, "2026-11-25T08:03:30.0000Z"),
    ];
    let host = host_id("b1").to_ascii_lowercase();
    rig.arm.with(|e| {
        e.sessions.insert(host.clone(), listed);
        e.lro = super::fake_arm::lro::Lro::Network;
        e.lro_polls = 1;
    });
    let asked = || rig.arm.with(|e| e.disconnect_requests.clone());

    // Bob's grace (75 minutes from 08:01:30) has not passed.
    assert!(tick(&rig.handler, "2026-11-25T09:10:00Z").await.is_empty());
    assert!(asked().is_empty(), "before the grace");

    // The same estate in report mode (the default): nothing is disconnected.
    let mut pairs = rig.env.pairs();
    pairs.retain(|(k, _)| *k != "AUTHZ_ENFORCE");
    let report = HandlerProcess::spawn(&pairs).await;
    assert!(tick(&report, "2026-11-25T09:20:00Z").await.is_empty());
    assert!(asked().is_empty(), "report mode");

    let said = tick(&rig.handler, "2026-11-25T09:25:00Z").await;
    assert_eq!(asked(), ["live-bob"], "{}", rig.handler.log_text());
    assert_eq!(said.len(), 1, "{said:?}");
    let d = &said[0]["data"];
    assert_eq!(d["sessionId"], "live-bob", "{d}");
    assert_eq!(
        d["decidedBy"],
        "bastion-recordings (AUTHZ_ENFORCE=disconnect)"
    );
    assert_eq!(d["state"], "Disconnected", "{d}");
    let why = d["reason"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("authorization none") && why.contains("5f0c2d7e-8b1a-4c3e-9d2f-000000000b"),
        "{why}"
    );

    // Bastion still lists it for a while: it is not asked again.
    rig.arm
        .with(|e| e.sessions.entry(host.clone()).or_default().push(bob));
    assert!(tick(&rig.handler, "2026-11-25T09:30:00Z").await.is_empty());
    assert_eq!(asked(), ["live-bob"], "once");
    let rows = query_all(
        &rig.tables(),
        "disconnects",
        &Filter::partition("2026-11-25"),
        10,
    )
    .await
    .expect("rows");
    assert_eq!(rows.len(), 1, "one recorded disconnect");
    let r = &rows[0].entity;
    assert_eq!(
        r["DecidedBy"],
        "bastion-recordings (AUTHZ_ENFORCE=disconnect)"
    );
    assert!(
        r["Reason"]
            .as_str()
            .is_some_and(|w| w.contains("bastion-authz=enforce")),
        "{r:?}"
    );
}
