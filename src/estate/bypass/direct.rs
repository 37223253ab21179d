//! A watched VM whose NICs no list read (they lie in a resource group that is neither the VM's
//! nor a `BYPASS_SCOPES` entry): its NICs named by the VM itself (`GET {vm}`,
//! `properties.networkProfile.networkInterfaces`), each read by `GET {nic}`, so its network doors
//! are decided like the others' (the NICs' subnets and NSGs, and public IPs, then come from the
//! same lists as every NIC's). At most [`MAX_VMS`] VMs a pass, [`MAX_IN_FLIGHT`] requests at once
//! (the client paces them further, as every estate read).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;

use super::network::Network;
use crate::arm::{MAX_IN_FLIGHT, NetworkInterface, ResourceManager};
use crate::azure::AzureError;

/// Most VMs one pass reads this way: at most this many VM GETs, and a GET per NIC of each, a
/// pass; the VMs beyond (in resource id order) stay undecided, and the run's log names them.
pub const MAX_VMS: usize = 200;

/// The NICs of `vms` (lower-case ids) read one by one; what could not be read is in `net.failed`
/// and its VM gets no NIC (undecided: its doors keep their last state).
pub async fn read(
    arm: &Arc<dyn ResourceManager>,
    net: &mut Network,
    mut vms: Vec<String>,
) -> Vec<NetworkInterface> {
    vms.sort();
    for vm in vms.iter().skip(MAX_VMS) {
        net.failed.push(format!(
            "{vm}: its NICs lie outside the groups listed and more than {MAX_VMS} such VMs are \
             watched; not read this pass"
        ));
    }
    vms.truncate(MAX_VMS);
    net.requests += vms.len();
    let profiles: Vec<(String, Result<Vec<String>, AzureError>)> = futures::stream::iter(vms)
        .map(|vm| async move {
            let nics = arm.vm_network_interfaces(&vm).await;
            (vm, nics)
        })
        .buffer_unordered(MAX_IN_FLIGHT)
        .collect()
        .await;
    // Each NIC with the VM that named it.
    let mut of_vm: BTreeMap<String, String> = BTreeMap::new();
    for (vm, answer) in profiles {
        match answer {
            Ok(ids) => of_vm.extend(ids.into_iter().map(|n| (n, vm.clone()))),
            Err(e) => net.failed.push(format!("{vm}: {e}")),
        }
    }
    net.requests += of_vm.len();
    let answers: Vec<(String, Result<NetworkInterface, AzureError>)> =
        futures::stream::iter(of_vm.keys().cloned())
            .map(|id| async move {
                let nic = arm.network_interface(&id).await;
                (id, nic)
            })
            .buffer_unordered(MAX_IN_FLIGHT)
            .collect()
            .await;
    let mut failed_vms = BTreeSet::new();
    let mut out = Vec::new();
    for (id, answer) in answers {
        let vm = of_vm.get(&id).cloned().unwrap_or_default();
        match answer {
            // Named by the VM and attached to it.
            Ok(nic)
                if nic
                    .properties
                    .virtual_machine
                    .as_ref()
                    .is_some_and(|v| v.id.eq_ignore_ascii_case(&vm)) =>
            {
                out.push(nic);
            }
            // Detached since, or gone: not the VM's.
            Ok(_) | Err(AzureError::NotFound) => {}
            Err(e) => {
                net.failed.push(format!("{id}: {e}"));
                failed_vms.insert(vm);
            }
        }
    }
    // A VM with a NIC not read is not decided from its other NICs (a door on the unread one
    // would clear).
    out.retain(|n| {
        n.properties
            .virtual_machine
            .as_ref()
            .is_none_or(|v| !failed_vms.contains(&v.id.to_ascii_lowercase()))
    });
    out
}
