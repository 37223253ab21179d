//! One pass's Resource Manager reads for doors 4 and 5: the watched hosts' Bastion subnets (those
//! their own checks did not read this period), and the watched VMs' NICs, their subnets and NSGs, through `Microsoft.Network` list calls per
//! resource group (each list shared by every VM that needs it: a resource group is listed once
//! per kind and pass, a `BYPASS_SCOPES` subscription once for all its groups).

use std::collections::{BTreeMap, BTreeSet};

use super::direct::{Memory, each};
use super::doors::Watched;
use super::doors::subscription_id;
use crate::arm::cidr::AddrSet;
use crate::arm::ids::{group_of, subscription_of, under, vnet_of};

use crate::arm::{NetworkInterface, NetworkSecurityGroup, ResourceManager, Subnet};
use crate::azure::AzureError;
use crate::estate::store::nics::Remembered;

/// What the lists answered.
#[derive(Debug, Default)]
pub struct Network {
    /// Every NIC listed.
    pub nics: Vec<NetworkInterface>,
    /// NSGs by lower-case id.
    pub nsgs: BTreeMap<String, NetworkSecurityGroup>,
    /// Subnets by lower-case id.
    pub subnets: BTreeMap<String, Subnet>,
    /// The watched hosts' Bastion subnets' addresses (`None`: not all could be read).
    pub bastion: Option<AddrSet>,
    /// The watched hosts' Bastion subnets' ids (lower-case), as far as the hosts were read.
    pub bastion_subnets: BTreeSet<String>,
    /// The scopes whose lists failed, lower-case (their resources are not known).
    pub unread: BTreeSet<String>,
    /// What could not be read (for the run's log).
    pub failed: Vec<String>,
    /// The reads that failed: the scope, host, VM or NIC asked for (lower-case), and the answer
    /// ([`super::netdoors::failed`] names them on the VMs they leave undecided).
    pub errors: Vec<(String, AzureError)>,
    /// Resource Manager calls made (a list's next pages not counted: the bench counts those).
    pub requests: usize,
    /// VMs whose NICs were read one by one or tried this pass, to remember ([`super::direct`]).
    pub remember: Vec<crate::estate::store::nics::Remembered>,
    /// VMs decided from the NICs remembered of them (not read this pass).
    pub remembered: usize,
}

impl Network {
    /// True when the resource `id` could not be read.
    pub fn unread(&self, id: &str) -> bool {
        let id = id.to_ascii_lowercase();
        self.unread.iter().any(|s| under(&id, s))
    }

    /// The virtual networks of the VMs whose NICs it holds (lower-case VM id → the networks of
    /// their IP configurations' subnets, lower-case), and each of `vms` (lower-case) it holds no
    /// NIC of, with why: the failed reads of the VM or a scope over it, else that none was read.
    pub fn vnets(
        &self,
        vms: &BTreeSet<String>,
    ) -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, String>) {
        let mut of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for n in &self.nics {
            let Some(vm) = n.properties.virtual_machine.as_ref() else {
                continue;
            };
            let subnets = (n.properties.ip_configurations.iter())
                .filter_map(|c| c.properties.subnet.as_ref())
                .map(|s| vnet_of(&s.id));
            let vm = vm.id.to_ascii_lowercase();
            of.entry(vm).or_default().extend(subnets);
        }
        let unread = (vms.iter())
            .filter(|vm| !of.contains_key(*vm))
            .map(|vm| {
                let why: Vec<String> = (self.errors.iter())
                    .filter(|(r, _)| r == vm || under(vm, r))
                    .map(|(r, e)| format!("{r}: {e}"))
                    .collect();
                let why = match why.is_empty() {
                    true => "no network interface of it was listed or read".to_owned(),
                    false => format!("its network interfaces were not read: {}", why.join("; ")),
                };
                (vm.clone(), why)
            })
            .collect();
        (of, unread)
    }
}

/// Resource groups of one *granted* subscription listed one by one up to this many per kind;
/// above it, the kind is listed once for the whole subscription (one request and its next pages,
/// whatever the groups). A subscription is granted when it is itself a `BYPASS_SCOPES` entry (the
/// deployment grants the reads there); any other subscription is never listed whole: the
/// deployment grants the reads on resource groups only, so such a list would be refused on every
/// tick before its groups are read.
pub const GROUPS_PER_SUBSCRIPTION: usize = 3;

/// The subscription scope (`/subscriptions/{id}`, lower-case) of a lower-case scope.
fn subscription_scope(scope: &str) -> Option<String> {
    subscription_of(scope).map(|id| subscription_id(&id))
}

/// What to list: each scope, with the groups a refused subscription list falls back to. A group
/// under a subscription that is a scope itself is read by that subscription's list; the groups of
/// a `granted` subscription are listed as the subscription when there are more than
/// [`GROUPS_PER_SUBSCRIPTION`]; every other group is listed on its own.
fn plan(scopes: &BTreeSet<String>, granted: &BTreeSet<String>) -> Vec<(String, Vec<String>)> {
    let mut by_sub: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut whole = Vec::new();
    for s in scopes {
        match subscription_scope(s) {
            Some(sub) if sub != *s => by_sub.entry(sub).or_default().push(s.clone()),
            _ => whole.push(s.clone()),
        }
    }
    let mut out = Vec::new();
    for s in whole {
        let groups = by_sub.remove(&s).unwrap_or_default();
        out.push((s, groups));
    }
    for (sub, groups) in by_sub {
        if granted.contains(&sub) && groups.len() > GROUPS_PER_SUBSCRIPTION {
            out.push((sub, groups));
        } else {
            out.extend(groups.into_iter().map(|g| (g, Vec::new())));
        }
    }
    out
}

/// Lists one kind in each of `scopes` not under another of them (a `granted` subscription's many
/// groups as the subscription: [`GROUPS_PER_SUBSCRIPTION`]), into `net`. A subscription list
/// refused (403) is a failure naming the missing grant, and its groups are read one by one.
async fn lists<T, F: Future<Output = Result<Vec<T>, AzureError>>>(
    net: &mut Network,
    scopes: BTreeSet<String>,
    granted: &BTreeSet<String>,
    call: impl Fn(String) -> F,
) -> Vec<T> {
    let plan = plan(&scopes, granted);
    let fallback: BTreeMap<String, Vec<String>> = plan.iter().cloned().collect();
    net.requests += plan.len();
    let mut answers = each(plan.into_iter().map(|(s, _)| s), &call).await;
    // A subscription list refused: its groups one by one.
    let mut groups = Vec::new();
    answers.retain(|(scope, answer)| {
        let Err(e @ AzureError::Forbidden { .. }) = answer else {
            return true;
        };
        match fallback.get(scope).filter(|g| !g.is_empty()) {
            Some(g) => {
                // The grant the deployment makes is missing: said, and the groups read.
                net.failed.push(format!("{scope}: {e}"));
                net.errors.push((scope.clone(), e.clone()));
                groups.extend(g.iter().cloned());
                false
            }
            None => true,
        }
    });
    net.requests += groups.len();
    answers.extend(each(groups, &call).await);
    let mut out = Vec::new();
    for (scope, answer) in answers {
        match answer {
            Ok(mut items) => out.append(&mut items),
            Err(e) => {
                net.failed.push(format!("{scope}: {e}"));
                net.errors.push((scope.clone(), e));
                // A failed subscription list leaves each of its groups unread.
                let unread = fallback.get(&scope).filter(|g| !g.is_empty());
                match unread {
                    Some(g) => net.unread.extend(g.iter().cloned()),
                    None => {
                        net.unread.insert(scope);
                    }
                }
            }
        }
    }
    out
}

/// Reads the network of `watched`'s VMs (the NICs outside the groups listed as `memory` allows:
/// [`super::direct`]) and the hosts' Bastion subnets: each host's ids from `stored` (lower-case
/// host id: what its own check read of it this period), else from the host itself.
pub async fn read(
    arm: &std::sync::Arc<dyn ResourceManager>,
    hosts: &[String],
    stored: &BTreeMap<String, BTreeSet<String>>,
    watched: &Watched,
    memory: &Memory,
) -> Network {
    let mut net = Network::default();
    // The hosts' AzureBastionSubnet ids.
    let mut bastion_subnets = BTreeSet::new();
    let mut hosts_read = true;
    for host in hosts {
        if let Some(ids) = stored.get(&host.to_ascii_lowercase()) {
            bastion_subnets.extend(ids.iter().cloned());
            continue;
        }
        net.requests += 1;
        match arm.bastion_host(host).await {
            Ok(h) => bastion_subnets.extend(h.subnet_ids()),
            Err(e) => {
                hosts_read = false;
                net.failed.push(format!("{host}: {e}"));
                net.errors.push((host.to_ascii_lowercase(), e));
            }
        }
    }
    // The subscriptions the deployment grants the reads on: those listed in `BYPASS_SCOPES`.
    let granted: BTreeSet<String> = watched
        .scopes
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| subscription_scope(s).as_deref() == Some(s.as_str()))
        .collect();
    // NICs: each watched VM's resource group, and each scope.
    let mut nic_scopes: BTreeSet<String> = watched.vms.iter().filter_map(|v| group_of(v)).collect();
    nic_scopes.extend(watched.scopes.iter().map(|s| s.to_ascii_lowercase()));
    let nics = lists(&mut net, nic_scopes, &granted, |s| async move {
        arm.network_interfaces(&s).await
    })
    .await;
    let mut nics: Vec<NetworkInterface> = nics
        .into_iter()
        .filter(|n| {
            n.properties
                .virtual_machine
                .as_ref()
                .is_some_and(|vm| watched.covers(&vm.id.to_ascii_lowercase()))
        })
        .collect();
    // A watched VM whose group was listed but no NIC listed names it: its NICs lie in a group
    // that is neither its own nor a scope, read by the VM's network profile, one GET each.
    let named: BTreeSet<String> = nics
        .iter()
        .filter_map(|n| n.properties.virtual_machine.as_ref())
        .map(|v| v.id.to_ascii_lowercase())
        .collect();
    let elsewhere: Vec<String> = watched
        .vms
        .iter()
        .filter(|vm| !named.contains(*vm) && !net.unread(vm))
        .cloned()
        .collect();
    nics.extend(direct(arm, elsewhere, memory, &mut net).await);
    // Subnets: the NICs' and the hosts', through their virtual networks' groups.
    let mut subnet_ids: BTreeSet<String> = nics
        .iter()
        .flat_map(|n| &n.properties.ip_configurations)
        .filter_map(|c| c.properties.subnet.as_ref())
        .map(|s| s.id.to_ascii_lowercase())
        .collect();
    subnet_ids.extend(bastion_subnets.iter().cloned());
    let vnet_scopes = subnet_ids.iter().filter_map(|s| group_of(s)).collect();
    let vnets = lists(&mut net, vnet_scopes, &granted, |s| async move {
        arm.virtual_networks(&s).await
    })
    .await;
    let wanted_vnets: BTreeSet<String> = subnet_ids.iter().map(|s| vnet_of(s)).collect();
    for v in vnets {
        if !wanted_vnets.contains(&v.id.to_ascii_lowercase()) {
            continue;
        }
        for s in v.properties.subnets {
            net.subnets.insert(s.id.to_ascii_lowercase(), s);
        }
    }
    // NSGs: the NICs' own and their subnets'.
    let mut nsg_ids: BTreeSet<String> = nics
        .iter()
        .filter_map(|n| n.properties.network_security_group.as_ref())
        .map(|g| g.id.to_ascii_lowercase())
        .collect();
    nsg_ids.extend(
        net.subnets
            .values()
            .filter(|s| !bastion_subnets.contains(&s.id.to_ascii_lowercase()))
            .filter_map(|s| s.properties.network_security_group.as_ref())
            .map(|g| g.id.to_ascii_lowercase()),
    );
    let nsg_scopes = nsg_ids.iter().filter_map(|s| group_of(s)).collect();
    let nsgs = lists(&mut net, nsg_scopes, &granted, |s| async move {
        arm.security_groups(&s).await
    })
    .await;
    for g in nsgs {
        let id = g.id.to_ascii_lowercase();
        if nsg_ids.contains(&id) {
            net.nsgs.insert(id, g);
        }
    }
    // The Bastion subnets' addresses, when every host and subnet was read.
    let mut bastion = AddrSet::default();
    let mut known = hosts_read && !bastion_subnets.is_empty();
    for id in &bastion_subnets {
        match net.subnets.get(id) {
            Some(s) => {
                for p in s.prefixes() {
                    match AddrSet::prefix(&p) {
                        Some(a) => bastion = bastion.union(&a),
                        None => known = false,
                    }
                }
            }
            None => {
                known = false;
                net.failed
                    .push(format!("{id}: the Bastion subnet was not found"));
            }
        }
    }
    net.bastion = known.then_some(bastion);
    net.bastion_subnets = bastion_subnets;
    net.nics = nics;
    net
}

/// The NICs of `vms` (lower-case ids) whose NICs no list read, through the VMs themselves
/// ([`super::direct`]): read for those [`super::direct::plan`] picks, as remembered for the rest.
/// What could not be read is in `net`'s `failed` and `errors`, and its VM gets no NIC (undecided:
/// its doors keep their last state); what was read or tried is in its `remember`.
async fn direct(
    arm: &std::sync::Arc<dyn ResourceManager>,
    vms: Vec<String>,
    memory: &Memory,
    net: &mut Network,
) -> Vec<NetworkInterface> {
    let picked = super::direct::plan(&vms, memory);
    let chosen: BTreeSet<&String> = picked.iter().collect();
    let mut out = Vec::new();
    for vm in vms.iter().filter(|vm| !chosen.contains(vm)) {
        match memory.known.get(vm).filter(|r| r.read_at.is_some()) {
            Some(r) if !memory.changed.contains(vm) => {
                net.remembered += 1;
                out.extend(r.nics.iter().cloned());
            }
            _ => net.failed.push(format!(
                "{vm}: its NICs lie outside the groups listed and more than {} such VMs are to \
                 be read; not read this pass",
                memory.cap
            )),
        }
    }
    net.requests += picked.len();
    let profiles = each(picked.clone(), |vm| async move {
        arm.vm_network_interfaces(&vm).await
    })
    .await;
    // Each NIC with the VM that named it; the VMs whose read failed.
    let mut of_vm: BTreeMap<String, String> = BTreeMap::new();
    let mut failed_vms = BTreeSet::new();
    for (vm, answer) in profiles {
        match answer {
            Ok(ids) => of_vm.extend(
                ids.into_iter()
                    .map(|n| (n.to_ascii_lowercase(), vm.clone())),
            ),
            // Gone: nothing to decide.
            Err(AzureError::NotFound) => {}
            Err(e) => {
                net.failed.push(format!("{vm}: {e}"));
                net.errors.push((vm.clone(), e));
                failed_vms.insert(vm);
            }
        }
    }
    net.requests += of_vm.len();
    let answers = each(of_vm.keys().cloned(), |id| async move {
        arm.network_interface(&id).await
    })
    .await;
    let mut read: BTreeMap<String, Vec<NetworkInterface>> = BTreeMap::new();
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
                read.entry(vm).or_default().push(nic);
            }
            // Detached since, or gone: not the VM's.
            Ok(_) | Err(AzureError::NotFound) => {}
            Err(e) => {
                net.failed.push(format!("{id}: {e}"));
                // Said on the VM it leaves undecided (the error names the NIC's scope).
                net.errors.push((vm.clone(), e));
                failed_vms.insert(vm);
            }
        }
    }
    for vm in picked {
        let before = memory.known.get(&vm);
        if failed_vms.contains(&vm) {
            // A VM with a NIC not read is not decided from its other NICs (a door on the
            // unread one would clear); what was remembered stays, tried now.
            net.remember.push(Remembered {
                vm: vm.clone(),
                nics: before.map(|r| r.nics.clone()).unwrap_or_default(),
                read_at: before.and_then(|r| r.read_at),
                tried_at: memory.now,
            });
            continue;
        }
        let mut nics = read.remove(&vm).unwrap_or_default();
        nics.sort_by(|a, b| a.id.cmp(&b.id));
        out.extend(nics.iter().cloned());
        net.remember.push(Remembered {
            vm,
            nics,
            read_at: Some(memory.now),
            tried_at: memory.now,
        });
    }
    out
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
