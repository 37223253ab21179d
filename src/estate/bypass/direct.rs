//! A watched VM whose NICs no list read (they lie in a resource group that is neither the VM's
//! nor a `BYPASS_SCOPES` entry): its NICs named by the VM itself (`GET {vm}`,
//! `properties.networkProfile.networkInterfaces`), each read by `GET {nic}`, so its network doors
//! are decided like the others' (the NICs' subnets and NSGs, and public IPs, then come from the
//! same lists as every NIC's). What was read is remembered between passes (table `estate`, one
//! row per VM: `store::nics`), and a remembered VM is read again only when it may have changed:
//! an Activity log row of a write to the VM, one of its NICs, their public IPs or NSG since it was
//! read ([`changed`]), or its turn in the rotation (oldest read first, [`ROTATION_PASSES`]). At
//! most a cap of VMs a pass ([`MAX_VMS`]), taken in the order [`plan`] gives, [`MAX_IN_FLIGHT`]
//! requests at once (the client paces them further, as every estate read). The reads are
//! [`super::network`]'s, into its `Network`.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use time::OffsetDateTime;

use crate::activity::events::{ActivityRow, NETWORK_CHANGES};
use crate::arm::MAX_IN_FLIGHT;
use crate::estate::store::nics::Remembered;

/// Most VMs one pass reads this way (a VM GET each, and a GET per NIC); the rest keep their
/// remembered NICs, or stay undecided when none are remembered (the run's log names them).
pub const MAX_VMS: usize = 200;
/// Every remembered VM is read again within this many passes without an Activity log row: each
/// pass re-reads the `ceil(remembered / ROTATION_PASSES)` read longest ago.
pub const ROTATION_PASSES: usize = 8;
/// An Activity log row this long before a read still asks for a new read (a row's
/// `TimeGenerated` may precede the moment the change took effect).
pub const SKEW: time::Duration = time::Duration::minutes(5);

/// What earlier passes remembered, and what this pass may read.
#[derive(Debug, Clone)]
pub struct Memory {
    /// Remembered NICs by VM (lower-case).
    pub known: BTreeMap<String, Remembered>,
    /// Remembered VMs an Activity log row says may have changed ([`changed`]).
    pub changed: BTreeSet<String>,
    /// Most VMs read this pass ([`MAX_VMS`]).
    pub cap: usize,
    /// This pass's time (the reads' `ReadAt`).
    pub now: OffsetDateTime,
}

/// The remembered VMs that `rows` (the Activity log read) say may have changed since read: a
/// row of [`NETWORK_CHANGES`] on the VM, one of its NICs, their public IPs or their NSG, no
/// earlier than [`SKEW`] before the read (any outcome: a failed write costs one read).
pub fn changed(rows: &[ActivityRow], known: &BTreeMap<String, Remembered>) -> BTreeSet<String> {
    let mut touching: BTreeMap<String, Vec<&Remembered>> = BTreeMap::new();
    for r in known.values() {
        let mut ids = vec![r.vm.clone()];
        for n in &r.nics {
            ids.push(n.id.to_ascii_lowercase());
            ids.extend(
                n.properties
                    .network_security_group
                    .iter()
                    .map(|g| g.id.to_ascii_lowercase()),
            );
            ids.extend(
                n.properties
                    .ip_configurations
                    .iter()
                    .filter_map(|c| c.properties.public_ip_address.as_ref())
                    .map(|p| p.id.to_ascii_lowercase()),
            );
        }
        for id in ids {
            touching.entry(id).or_default().push(r);
        }
    }
    let mut out = BTreeSet::new();
    for row in rows
        .iter()
        .filter(|r| NETWORK_CHANGES.contains(&r.operation.as_str()))
    {
        for r in touching.get(&row.resource).into_iter().flatten() {
            if r.read_at.is_none_or(|at| row.at >= at - SKEW) {
                out.insert(r.vm.clone());
            }
        }
    }
    out
}

/// Which of `vms` this pass reads, in order, at most `memory.cap`: the remembered ones an
/// Activity log row says changed (read longest ago first), then those never read whole (the one
/// tried longest ago first, never tried before all), then the rotation's share of the rest
/// (read longest ago first). Every VM not read keeps what is remembered of it, if anything.
pub fn plan(vms: &[String], memory: &Memory) -> Vec<String> {
    let known = |vm: &String| memory.known.get(vm);
    let read_at = |vm: &String| known(vm).and_then(|r| r.read_at);
    let mut changed: Vec<&String> = Vec::new();
    let mut never: Vec<&String> = Vec::new();
    let mut rest: Vec<&String> = Vec::new();
    for vm in vms {
        match read_at(vm) {
            None => never.push(vm),
            Some(_) if memory.changed.contains(vm) => changed.push(vm),
            Some(_) => rest.push(vm),
        }
    }
    changed.sort_by_key(|vm| (read_at(vm), *vm));
    never.sort_by_key(|vm| (known(vm).map(|r| r.tried_at), *vm));
    rest.sort_by_key(|vm| (read_at(vm), *vm));
    let share = rest.len().div_ceil(ROTATION_PASSES);
    changed
        .into_iter()
        .chain(never)
        .chain(rest.into_iter().take(share))
        .take(memory.cap)
        .cloned()
        .collect()
}

/// `call` on each of `ids` (a scope to list, a VM or NIC to read), [`MAX_IN_FLIGHT`] at once (the
/// client paces them further by Resource Manager's remaining counts): `(id, answer)` each.
pub(super) async fn each<F: Future>(
    ids: impl IntoIterator<Item = String>,
    call: impl Fn(String) -> F,
) -> Vec<(String, F::Output)> {
    futures::stream::iter(ids)
        .map(|id| {
            let answer = call(id.clone());
            async move { (id, answer.await) }
        })
        .buffer_unordered(MAX_IN_FLIGHT)
        .collect()
        .await
}

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
