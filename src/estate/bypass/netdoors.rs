//! Doors 4 and 5 decided from the network read (pure): a path to TCP 22 or 3389 from anywhere
//! but the Bastion subnets through the VM's subnet and NIC NSGs (`door:network-path`: reason
//! `outside`, medium, or `internal`, at `BYPASS_INTERNAL_LEVEL`), and a public IP address on one
//! of its NICs (`door:public-ip`, medium), while open; the latest rule write the Activity log
//! shows on an NSG that lets the path through names its caller.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::network::Network;
use super::nsg::{PORTS, Reason, level, path};
use crate::activity::events::{Event, Outcome, RULE_WRITE};
use crate::arm::cidr::AddrSet;
use crate::arm::resource_name;
use crate::arm::{NetworkInterface, NetworkSecurityGroup, SubResource};
use crate::azure::AzureError;
use crate::dates::format_utc;
use crate::estate::findings::{Evaluation, Level};

/// The finding of a path to 22/3389 from anywhere but the Bastion subnets (reason outside or
/// internal).
pub const NETWORK_PATH: &str = "door:network-path";
/// The finding of a public IP address on a watched VM's NIC.
pub const PUBLIC_IP: &str = "door:public-ip";
/// The finding of a VM or scope whose network doors a failed read left undecided.
pub const NETWORK_FAILED: &str = "check-failed:network";

/// The latest succeeded or started rule write under one of `nsgs` (lower-case ids).
fn rule_writer<'a>(nsgs: &BTreeSet<String>, events: &'a [Event]) -> Option<&'a Event> {
    events
        .iter()
        .filter(|e| e.operation == RULE_WRITE && e.outcome != Outcome::Failed)
        .filter(|e| {
            nsgs.iter()
                .any(|n| e.resource.starts_with(&format!("{n}/")))
        })
        .max_by_key(|e| e.at)
}

/// The NSG `g` names (if any) and its lower-case id, as read (`with` in place of the NSG of its
/// id); `None` when it was not read.
fn nsg<'a>(
    g: Option<&SubResource>,
    net: &'a Network,
    with: Option<&'a NetworkSecurityGroup>,
) -> Option<Option<(String, &'a NetworkSecurityGroup)>> {
    let Some(g) = g else { return Some(None) };
    let id = g.id.to_ascii_lowercase();
    if let Some(w) = with.filter(|w| w.id.eq_ignore_ascii_case(&id)) {
        return Some(Some((id, w)));
    }
    net.nsgs.get(&id).map(|n| Some((id, n)))
}

/// The level of a path for `reason`: medium from outside, `internal` (`BYPASS_INTERNAL_LEVEL`)
/// from inside.
pub fn path_level(reason: Reason, internal: Level) -> Level {
    match reason {
        Reason::Outside => Level::Medium,
        Reason::Internal => internal,
    }
}

/// What a path of `reason` is said to come from.
pub fn path_from(reason: Reason) -> &'static str {
    match reason {
        Reason::Outside => {
            "outside the virtual network (a public address, the Internet or another service tag)"
        }
        Reason::Internal => {
            "inside the virtual network or a network connected to it (peered, behind a gateway, on-premises), not only the Bastion subnet"
        }
    }
}

/// VM `vm`'s (lower-case) NICs among those `net` holds.
pub(super) fn nics_of<'a>(
    vm: &'a str,
    net: &'a Network,
) -> impl Iterator<Item = &'a NetworkInterface> {
    net.nics.iter().filter(move |n| {
        n.properties
            .virtual_machine
            .as_ref()
            .is_some_and(|v| v.id.eq_ignore_ascii_case(vm))
    })
}

/// One path's line of evidence, and its reason.
pub(super) type Line = (Reason, String);

/// The paths to 22/3389 from anywhere but `bastion` through `nics` (each with its reason), and
/// the NSGs they pass, as `net` holds them (`with` in place of the NSG of its id); `None` when a
/// subnet or NSG they name was not read.
pub(super) fn paths(
    nics: &[&NetworkInterface],
    net: &Network,
    bastion: &AddrSet,
    with: Option<&NetworkSecurityGroup>,
) -> Option<(Vec<Line>, BTreeSet<String>)> {
    let mut lines = Vec::new();
    let mut through = BTreeSet::new();
    for nic in nics {
        let (nic_nsg_id, nic_nsg) =
            nsg(nic.properties.network_security_group.as_ref(), net, with)?.unzip();
        for c in &nic.properties.ip_configurations {
            let subnet_id = c.properties.subnet.as_ref()?.id.to_ascii_lowercase();
            let subnet = net.subnets.get(&subnet_id)?;
            let (subnet_nsg_id, subnet_nsg) =
                nsg(subnet.properties.network_security_group.as_ref(), net, with)?.unzip();
            let address = c.properties.private_ip_address.clone().unwrap_or_default();
            let dest = AddrSet::prefix(&address).unwrap_or_default();
            for port in PORTS {
                let s = level(subnet_nsg, port, &dest, bastion);
                let n = level(nic_nsg, port, &dest, bastion);
                if let Some((reason, rules)) = path(&s, &n) {
                    let text = format!(
                        "TCP {port} to {} on NIC {} ({}): {}",
                        if address.is_empty() {
                            "?"
                        } else {
                            address.as_str()
                        },
                        resource_name(&nic.id),
                        reason.as_str(),
                        rules.join(", ")
                    );
                    lines.push((reason, text));
                    through.extend(subnet_nsg_id.clone());
                    through.extend(nic_nsg_id.clone());
                }
            }
        }
    }
    Some((lines, through))
}

/// VM `vm`'s (lower-case) doors 4 and 5, as far as `net` shows them, an internal path at
/// `internal`; `None` when its NICs are not known (its group's list failed, or no NIC names it).
pub fn evaluate(vm: &str, net: &Network, events: &[Event], internal: Level) -> Option<Evaluation> {
    let nics: Vec<_> = nics_of(vm, net).collect();
    if nics.is_empty() {
        return None;
    }
    let mut ev = Evaluation::default();
    let public: Vec<String> = nics
        .iter()
        .flat_map(|n| {
            n.properties.ip_configurations.iter().filter_map(move |c| {
                let p = c.properties.public_ip_address.as_ref()?;
                Some(format!(
                    "{} on NIC {} ({})",
                    resource_name(&p.id),
                    resource_name(&n.id),
                    c.name
                ))
            })
        })
        .collect();
    ev.decide(PUBLIC_IP, !public.is_empty(), || {
        format!(
            "a public IP address on the VM's network interface, a way in beside Bastion: {}",
            public.join("; ")
        )
    });
    let Some(bastion) = net.bastion.as_ref() else {
        return Some(ev);
    };
    // A NIC, subnet or NSG not read: door 4 stays as it was.
    let Some((lines, through)) = paths(&nics, net, bastion, None) else {
        return Some(ev);
    };
    let reason = lines.iter().map(|(r, _)| *r).max();
    let level = lines
        .iter()
        .map(|(r, _)| path_level(*r, internal))
        .max()
        .unwrap_or(Level::Medium);
    ev.decide_at(NETWORK_PATH, reason.is_some(), level, || {
        let who = rule_writer(&through, events).map_or_else(
            || "no rule write in the Activity log read names who opened it".to_owned(),
            |e| {
                format!(
                    "latest rule write {} at {} by {}",
                    resource_name(&e.resource),
                    format_utc(e.at),
                    super::doors::actor(e)
                )
            },
        );
        let reason = reason.unwrap_or(Reason::Outside);
        let lines: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        format!(
            "reason {}: a network path to SSH/RDP from {}: {}; {who}",
            reason.as_str(),
            path_from(reason),
            lines.join("; ")
        )
    });
    Some(ev)
}

/// True when `a` is `b` or lies under it (lower-case resource ids).
fn within(a: &str, b: &str) -> bool {
    a == b || crate::arm::ids::under(a, b)
}

/// The NSGs (lower-case ids) on `nic` and on its subnets, as far as `net` holds them.
pub(super) fn nsgs_of<'a>(
    nic: &'a NetworkInterface,
    net: &'a Network,
) -> impl Iterator<Item = String> + 'a {
    let subnets = (nic.properties.ip_configurations.iter()).filter_map(|c| {
        net.subnets
            .get(&c.properties.subnet.as_ref()?.id.to_ascii_lowercase())
    });
    (nic.properties.network_security_group.iter())
        .chain(subnets.filter_map(|s| s.properties.network_security_group.as_ref()))
        .map(|g| g.id.to_ascii_lowercase())
}

/// The resources whose reads decide `vm`'s network doors, as far as `net` knows them: the VM,
/// its NICs, their subnets and the NSGs on both (lower-case).
fn reads_of(vm: &str, net: &Network) -> BTreeSet<String> {
    let mut ids = BTreeSet::from([vm.to_owned()]);
    for n in nics_of(vm, net) {
        ids.insert(n.id.to_ascii_lowercase());
        ids.extend(nsgs_of(n, net));
        let subnets =
            (n.properties.ip_configurations.iter()).filter_map(|c| c.properties.subnet.as_ref());
        ids.extend(subnets.map(|s| s.id.to_ascii_lowercase()));
    }
    ids
}

/// `id`'s (a watched VM's, or a `BYPASS_SCOPES` entry's: lower-case) `check-failed:network`,
/// always assessed: a finding when a door `decided` (its doors 4 and 5 as [`evaluate`] gave them;
/// `None` for a scope, or a VM neither was decided for) leaves undecided and a failed read is
/// why: a list over it or its network's resources, its own reads, or, for door 4 while the
/// Bastion subnets are not known, a watched host's read or its subnet's list. Its level is the
/// worst read's: high when a role is missing, `info` when the next check reads again, medium
/// otherwise. What no failed read explains (a VM no NIC names, the cap of VMs read one by one) is
/// only logged.
pub fn failed(
    id: &str,
    net: &Network,
    decided: Option<&Evaluation>,
    at: OffsetDateTime,
) -> Evaluation {
    let mut ev = Evaluation::default();
    ev.assessed.insert(NETWORK_FAILED.to_owned());
    if decided.is_some_and(|d| d.assessed.contains(NETWORK_PATH)) {
        return ev;
    }
    let mut reads = reads_of(id, net);
    let bastion_unknown = net.bastion.is_none() && decided.is_some();
    if bastion_unknown {
        reads.extend(net.bastion_subnets.iter().cloned());
    }
    let host = |r: &str| r.contains("/providers/microsoft.network/bastionhosts/");
    let why: Vec<&(String, AzureError)> = net
        .errors
        .iter()
        .filter(|(r, _)| {
            reads.iter().any(|x| within(x, r) || within(r, x)) || (bastion_unknown && host(r))
        })
        .collect();
    let Some(level) = why
        .iter()
        .map(|(_, e)| super::doors::failure_level(e))
        .max()
    else {
        return ev;
    };
    let doors = if decided.is_some() {
        "a path to SSH/RDP from outside the Bastion subnet cannot be decided and keeps"
    } else {
        "a path to SSH/RDP from outside the Bastion subnet and a public IP address cannot be decided and keep"
    };
    let said: Vec<String> = why.iter().map(|(r, e)| format!("{r}: {e}")).collect();
    ev.decide_at(NETWORK_FAILED, true, level, || {
        format!(
            "the network could not be read through Resource Manager at {}: {}; {doors} its last state{}",
            format_utc(at),
            said.join("; "),
            super::doors::read_again(level)
        )
    });
    ev
}
