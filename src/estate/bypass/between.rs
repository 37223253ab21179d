//! Doors 4 and 5 opened and closed between two checks (pure), from the Activity log's events and
//! the network as read now: an NSG rule written (alone, or among the rules of an NSG written
//! whole), then deleted or written over (the rule, or its NSG whole), and a public IP address put
//! on a watched VM's NIC, then taken off (the NIC written again or deleted, or the address
//! deleted), of which nothing is left when the network is read.
//! Each is one episode, already closed: opened at the write, closed at the write that ended it,
//! both actors named. A rule's content is its write's request body (`Properties_d.requestbody`);
//! a rule write without one, whose rule is gone now, is a possible door of unknown content, at the
//! worse of the two path levels.

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;

use super::doors::said;
use super::netdoors::{
    Line, NETWORK_PATH, PUBLIC_IP, nics_of, nsgs_of, path_from, path_level, paths,
};
use super::network::Network;
use crate::activity::events::{
    Event, NETWORK_CHANGES, Outcome, PIP_DELETE, RULE_DELETE, RULE_WRITE,
};
use crate::arm::{NetworkSecurityGroup, RuleProperties, SecurityRule};
use crate::estate::findings::{Finding, Level};

const NIC_WRITE: &str = NETWORK_CHANGES[0];
const NIC_DELETE: &str = NETWORK_CHANGES[1];
const NSG_WRITE: &str = NETWORK_CHANGES[3];

/// One door episode that opened and closed between two checks, on one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Past {
    /// The VM (lower-case).
    pub vm: String,
    /// The finding (`door:network-path` or `door:public-ip`), its level and evidence.
    pub finding: Finding,
    /// When the write that opened it and the write that closed it were made.
    pub span: (OffsetDateTime, OffsetDateTime),
}

/// A succeeded or started event (a failed one changed nothing).
fn done(e: &Event) -> bool {
    e.outcome != Outcome::Failed
}

/// The first event after `w` among `events` that `ends` says ended what `w` wrote.
fn closer<'a>(w: &Event, events: &'a [Event], ends: impl Fn(&Event) -> bool) -> Option<&'a Event> {
    events
        .iter()
        .filter(|c| done(c) && c.at > w.at && ends(c))
        .min_by_key(|c| c.at)
}

/// A rule written: the event, its NSG's id and its name (lower-case), its content when the row's
/// body holds it, and whether an NSG write named it among all the NSG's rules.
type Written<'a> = (&'a Event, String, String, Option<RuleProperties>, bool);

/// The rules `events` show written (succeeded or started): a rule write (its content in its
/// request body's `properties`, if the row carries one) and each rule of an NSG write's request
/// body (`properties.securityRules`; an NSG write without one names no rule).
fn written(events: &[Event]) -> Vec<Written<'_>> {
    let mut out = Vec::new();
    for w in events.iter().filter(|e| done(e)) {
        let b = w.body();
        if w.operation == RULE_WRITE {
            let Some((nsg, name)) = w.resource.rsplit_once("/securityrules/") else {
                continue;
            };
            let props = b.get("properties").cloned().map(serde_json::from_value);
            let props = props.and_then(Result::ok);
            out.push((w, nsg.to_owned(), name.to_owned(), props, false));
        } else if w.operation == NSG_WRITE {
            let rules = b
                .pointer("/properties/securityRules")
                .and_then(Value::as_array);
            for r in rules.into_iter().flatten() {
                let rule = serde_json::from_value::<SecurityRule>(r.clone());
                let Some(rule) = rule.ok().filter(|r| !r.name.is_empty()) else {
                    continue;
                };
                let name = rule.name.to_ascii_lowercase();
                out.push((w, w.resource.clone(), name, Some(rule.properties), true));
            }
        }
    }
    out
}

/// The episodes of NSG rules written and then removed or written over, on the VMs of `vms` behind
/// them (a path through the rule as written, the rest of the NSG as read now).
fn rules(vms: &BTreeSet<String>, net: &Network, events: &[Event], internal: Level) -> Vec<Past> {
    let Some(bastion) = net.bastion.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (w, nsg_id, name, written, whole) in written(events) {
        let name = name.as_str();
        let Some(nsg) = net.nsgs.get(&nsg_id) else {
            continue;
        };
        let rule_id = format!("{nsg_id}/securityrules/{name}");
        let Some(c) = closer(w, events, |c| {
            (c.resource == rule_id && (c.operation == RULE_DELETE || c.operation == RULE_WRITE))
                || (c.resource == nsg_id && c.operation == NSG_WRITE)
        }) else {
            continue;
        };
        let nsg_id = nsg_id.as_str();
        let now = nsg
            .properties
            .security_rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name));
        let shown = now.map_or(name, |r| r.name.as_str());
        let nsg_name = nsg.id.rsplit('/').next().unwrap_or_default();
        let what = format!(
            "rule {nsg_name}/{shown} written {}, removed or written over {}",
            said(w),
            said(c)
        );
        let vms_behind = vms
            .iter()
            .filter(|vm| nics_of(vm, net).any(|n| nsgs_of(n, net).any(|g| g == nsg_id)));
        match written {
            // As written it is still there (or, one rule of an NSG written whole, there under its
            // name): a path through it is the open door's.
            Some(p) if now.is_some_and(|r| whole || r.properties == p) => {}
            Some(p) => {
                let mut with: NetworkSecurityGroup = nsg.clone();
                with.properties
                    .security_rules
                    .retain(|r| !r.name.eq_ignore_ascii_case(name));
                with.properties.security_rules.push(SecurityRule {
                    name: shown.to_owned(),
                    properties: p,
                });
                let needle = format!("{nsg_name}/{shown} (").to_ascii_lowercase();
                for vm in vms_behind {
                    let nics: Vec<_> = nics_of(vm, net).collect();
                    let Some((lines, _)) = paths(&nics, net, bastion, Some(&with)) else {
                        continue;
                    };
                    let lines: Vec<&Line> = lines
                        .iter()
                        .filter(|(_, l)| l.to_ascii_lowercase().contains(&needle))
                        .collect();
                    let Some(reason) = lines.iter().map(|(r, _)| *r).max() else {
                        continue;
                    };
                    let text: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
                    out.push(Past {
                        vm: vm.clone(),
                        finding: Finding {
                            code: NETWORK_PATH.to_owned(),
                            level: path_level(reason, internal),
                            evidence: format!(
                                "reason {}: opened and closed between two checks: a network path to SSH/RDP from {}: {what}: {}",
                                reason.as_str(),
                                path_from(reason),
                                text.join("; ")
                            ),
                        },
                        span: (w.at, c.at),
                    });
                }
            }
            // Its content unknown and nothing of it left: possibly a path, at the worse level.
            None if now.is_none() => {
                for vm in vms_behind {
                    out.push(Past {
                        vm: vm.clone(),
                        finding: Finding {
                            code: NETWORK_PATH.to_owned(),
                            level: Level::Medium.max(internal),
                            evidence: format!(
                                "reason unknown: opened and closed between two checks, possibly a network path to SSH/RDP: {what}; the rule's content is unknown (the Activity log row carries no request body and the rule is gone), so whether it let SSH/RDP in cannot be told"
                            ),
                        },
                        span: (w.at, c.at),
                    });
                }
            }
            None => {}
        }
    }
    out
}

/// The public IP addresses (lower-case ids) a NIC write's request body puts on the NIC.
fn public_ips(w: &Event) -> Vec<String> {
    let b = w.body();
    let configs = b
        .pointer("/properties/ipConfigurations")
        .and_then(Value::as_array);
    configs
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer("/properties/publicIPAddress/id")?.as_str())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The episodes of public IP addresses put on a watched VM's NIC (a NIC write whose body names
/// one) and taken off (the NIC written again or deleted, or the address deleted) while the NIC
/// as read now has none.
fn public(vms: &BTreeSet<String>, net: &Network, events: &[Event]) -> Vec<Past> {
    let mut out = Vec::new();
    for w in events
        .iter()
        .filter(|e| e.operation == NIC_WRITE && done(e))
    {
        let pips = public_ips(w);
        if pips.is_empty() {
            continue;
        }
        let Some(nic) = net
            .nics
            .iter()
            .find(|n| n.id.eq_ignore_ascii_case(&w.resource))
        else {
            continue;
        };
        let Some(vm) = nic.properties.virtual_machine.as_ref() else {
            continue;
        };
        let vm = vm.id.to_ascii_lowercase();
        let open_now = nic
            .properties
            .ip_configurations
            .iter()
            .any(|c| c.properties.public_ip_address.is_some());
        if !vms.contains(&vm) || open_now {
            continue;
        }
        let Some(c) = closer(w, events, |c| {
            (c.resource == w.resource && (c.operation == NIC_WRITE || c.operation == NIC_DELETE))
                || (c.operation == PIP_DELETE && pips.contains(&c.resource))
        }) else {
            continue;
        };
        let names: Vec<&str> = pips.iter().filter_map(|p| p.rsplit('/').next()).collect();
        out.push(Past {
            vm,
            finding: Finding {
                code: PUBLIC_IP.to_owned(),
                level: Level::Medium,
                evidence: format!(
                    "opened and closed between two checks: a public IP address on the VM's network interface, a way in beside Bastion: {} put on NIC {} {}, taken off {}",
                    names.join(", "),
                    nic.id.rsplit('/').next().unwrap_or_default(),
                    said(w),
                    said(c)
                ),
            },
            span: (w.at, c.at),
        });
    }
    out
}

/// The network doors of the VMs of `vms` (lower-case) that opened and closed between two checks,
/// as `events` show them and `net` holds the network now; an internal path at `internal`.
pub fn episodes(
    vms: &BTreeSet<String>,
    net: &Network,
    events: &[Event],
    internal: Level,
) -> Vec<Past> {
    let mut out = rules(vms, net, events, internal);
    out.extend(public(vms, net, events));
    out
}

#[cfg(test)]
#[path = "between_tests.rs"]
mod tests;
