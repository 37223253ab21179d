//! A watched VM that moves to another resource group or subscription stays watched, and its
//! findings follow it. The Activity log names the move
//! (`Microsoft.Resources/subscriptions/resourceGroups/moveResources/action` on the source group);
//! its request body, when the row carries one (`requestbody` in any case, as text or an object),
//! names the `resources` moved and the `targetResourceGroup`, as the Resources specification's
//! `Resources_MoveResources` request has them. A VM there gets its new id (the target group's, same
//! name), confirmed by Resource Manager (`GET {new id}` answers its `vmId`; a VM moved again must
//! keep the `vmId` recorded for it), recorded ([`store::moved`]) and its findings carried over. A
//! move whose row carries no body does not say which VMs moved: not seen (docs/estate.md).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::doors::Watched;
use crate::activity::events::{Event, MOVE_RESOURCES, Outcome};
use crate::arm::ResourceManager;
use crate::arm::ids::vm_of;
use crate::estate::store::{self, moved::Moved};
use crate::tables::TableStore;

/// The VMs `e` moved: `(old id, new id)`, lower-case (`e` a succeeded move with a body).
pub fn requested(e: &Event) -> Vec<(String, String)> {
    if e.operation != MOVE_RESOURCES || e.outcome != Outcome::Succeeded {
        return Vec::new();
    }
    let body = e.body();
    let Some(target) = body.get("targetResourceGroup").and_then(Value::as_str) else {
        return Vec::new();
    };
    let target = target.trim_end_matches('/').to_ascii_lowercase();
    let resources = body.get("resources").and_then(Value::as_array);
    resources
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|id| {
            let vm = vm_of(id).filter(|vm| *vm == id.trim_end_matches('/').to_ascii_lowercase())?;
            let name = crate::arm::resource_name(&vm).to_owned();
            Some((
                vm,
                format!("{target}/providers/microsoft.compute/virtualmachines/{name}"),
            ))
        })
        .collect()
}

/// Follows the moves: those recorded, and those `events` show of watched VMs (confirmed through
/// `arm`, recorded, their findings carried over); `watched` then names each VM where it is now.
/// Returns every move known, and what could not be done.
pub async fn follow(
    tables: &dyn TableStore,
    arm: Option<&Arc<dyn ResourceManager>>,
    events: &[Event],
    watched: &mut Watched,
) -> (BTreeMap<String, Moved>, Vec<String>) {
    let mut failed = Vec::new();
    let mut known = match store::moved::all(tables).await {
        Ok(k) => k,
        Err(e) => {
            failed.push(format!("moved VMs not read: {e}"));
            BTreeMap::new()
        }
    };
    // A VM moved before is watched where it is, so its next move is followed too.
    watch(watched, &known);
    for e in events {
        for (from, to) in requested(e) {
            let already = known.get(&from).is_some_and(|m| m.to == to);
            let Some(arm) = arm.filter(|_| !already && watched.covers(&from)) else {
                continue;
            };
            let vm_id = match arm.virtual_machine_id(&to).await {
                Ok(Some(id)) => id,
                Ok(None) => {
                    failed.push(format!(
                        "{from} moved to {to}, which Resource Manager does not show"
                    ));
                    continue;
                }
                Err(err) => {
                    failed.push(format!("{to}: moved VM not read: {err}"));
                    continue;
                }
            };
            // Moved before: the same machine keeps its vmId.
            let before = known.values().find(|m| m.to == from);
            if before.is_some_and(|m| !m.vm_id.eq_ignore_ascii_case(&vm_id)) {
                failed.push(format!(
                    "{to} has another vmId than {from} had: not followed"
                ));
                continue;
            }
            let m = Moved {
                from: from.clone(),
                to: to.clone(),
                vm_id,
                at: e.at,
            };
            let done = async {
                store::put(tables, store::moved::entity(&m)).await?;
                store::rekey(tables, &from, &to).await
            };
            match done.await {
                Ok(_) => {
                    known.insert(from, m);
                }
                Err(err) => failed.push(format!("{from}: move to {to} not recorded: {err}")),
            }
        }
    }
    watch(watched, &known);
    (known, failed)
}

/// `watched` naming each VM where it is now: a watched VM's (or scope's) moves followed.
fn watch(watched: &mut Watched, known: &BTreeMap<String, Moved>) {
    let moved: BTreeSet<String> = known
        .values()
        .filter(|m| watched.covers(&m.from))
        .map(|m| store::moved::current(&m.to, known))
        .collect();
    watched.vms = watched
        .vms
        .iter()
        .map(|v| store::moved::current(v, known))
        .chain(moved)
        .collect();
}

/// `events` with each VM's resources named where the VM is now (a door used before its move is
/// the moved VM's).
pub fn rewrite(events: &mut [Event], known: &BTreeMap<String, Moved>) {
    for e in events {
        let Some(vm) = vm_of(&e.resource) else {
            continue;
        };
        let now = store::moved::current(&vm, known);
        if now != vm {
            e.resource = format!("{now}{}", &e.resource[vm.len()..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_succeeded_move_with_a_body_names_each_vm_and_its_new_id() {
        let vm =
            "/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm1";
        let disk = "/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Compute/disks/d1";
        let body = json!({"resources": [vm, disk], "targetResourceGroup": "/subscriptions/s2/resourceGroups/rg-b"});
        let event = |properties: Value, outcome: Outcome| Event {
            operation: MOVE_RESOURCES.into(),
            resource: "/subscriptions/s1/resourcegroups/rg-a".into(),
            correlation: "m".into(),
            outcome,
            at: time::OffsetDateTime::UNIX_EPOCH,
            caller: String::new(),
            caller_ip: String::new(),
            properties,
            jit: None,
        };
        let moved = [(
            vm.to_ascii_lowercase(),
            "/subscriptions/s2/resourcegroups/rg-b/providers/microsoft.compute/virtualmachines/vm1"
                .to_owned(),
        )];
        let text = json!({"RequestBody": body.to_string()});
        assert_eq!(requested(&event(text, Outcome::Succeeded)), moved);
        let object = json!({"requestbody": body});
        assert_eq!(requested(&event(object.clone(), Outcome::Succeeded)), moved);
        assert!(requested(&event(object, Outcome::Failed)).is_empty());
        assert!(requested(&event(Value::Null, Outcome::Succeeded)).is_empty());
        let mut e = event(json!({"requestbody": body}), Outcome::Succeeded);
        let mut events = [Event {
            operation: crate::activity::events::RUN_COMMAND.into(),
            resource: format!("{}/extensions/x", vm.to_ascii_lowercase()),
            ..e.clone()
        }];
        let known = [(
            moved[0].0.clone(),
            Moved {
                from: moved[0].0.clone(),
                to: moved[0].1.clone(),
                vm_id: "id".into(),
                at: e.at,
            },
        )]
        .into();
        rewrite(&mut events, &known);
        assert_eq!(events[0].resource, format!("{}/extensions/x", moved[0].1));
        e.operation = "other".into();
        assert!(requested(&e).is_empty());
    }
}
