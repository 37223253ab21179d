//! Whether the NSGs in front of a NIC let TCP 22 or 3389 in from outside the Bastion subnet
//! (pure). Each NSG's own rules are decided in priority order, the first that matches a
//! packet deciding it, as Azure does; traffic must pass the subnet's NSG and the NIC's; a level
//! without an NSG lets everything through. A source counts as outside unless it lies in a
//! Bastion subnet, or is `VirtualNetwork`, `AzureLoadBalancer` (the platform's health probe) or
//! an application security group (NICs of the virtual network). Other service tags are outside,
//! their addresses unknown: a deny naming one removes nothing (an allow behind it is reported),
//! and a tag allowed at one level opens a path when the other lets anything outside through.
//! The default rules open nothing from outside (`AllowVnetInBound`, the probe's, `DenyAllInBound`).

use std::collections::BTreeSet;

use super::cidr::AddrSet;
use crate::arm::{NetworkSecurityGroup, RuleProperties};

/// The ports a remote session uses: SSH and RDP.
pub const PORTS: [u16; 2] = [22, 3389];

enum Source {
    Addrs(AddrSet),
    Inside,
    Tag(String),
}

fn source(text: &str) -> Source {
    let t = text.trim();
    if t == "*" || t.eq_ignore_ascii_case("any") {
        return Source::Addrs(AddrSet::all());
    }
    if t.eq_ignore_ascii_case("VirtualNetwork") || t.eq_ignore_ascii_case("AzureLoadBalancer") {
        return Source::Inside;
    }
    AddrSet::prefix(t).map_or_else(|| Source::Tag(t.to_owned()), Source::Addrs)
}

#[derive(PartialEq, Eq)]
enum Applies {
    Yes,
    No,
    Unknown,
}

/// Whether `rule` is about the NIC's addresses `dest` (empty: not known, so it is).
fn applies(rule: &RuleProperties, dest: &AddrSet) -> Applies {
    if !rule.destination_application_security_groups.is_empty() {
        return Applies::Unknown;
    }
    let all: Vec<&String> = rule
        .destination_address_prefix
        .iter()
        .chain(&rule.destination_address_prefixes)
        .collect();
    if all.is_empty() {
        return Applies::Yes;
    }
    let mut unknown = false;
    for p in all {
        let t = p.trim();
        if t == "*" || t.eq_ignore_ascii_case("any") || t.eq_ignore_ascii_case("VirtualNetwork") {
            return Applies::Yes;
        }
        match AddrSet::prefix(t) {
            Some(a) if dest.is_empty() || !a.intersect(dest).is_empty() => return Applies::Yes,
            Some(_) => {}
            None => unknown = true,
        }
    }
    if unknown {
        Applies::Unknown
    } else {
        Applies::No
    }
}

/// True when `rule` covers TCP `port` inbound.
fn covers(rule: &RuleProperties, port: u16) -> bool {
    let tcp = rule.protocol == "*" || rule.protocol.eq_ignore_ascii_case("tcp");
    let inbound = rule.direction.eq_ignore_ascii_case("inbound");
    let port_in = rule
        .destination_port_range
        .iter()
        .chain(&rule.destination_port_ranges)
        .any(|r| {
            let r = r.trim();
            if r == "*" {
                return true;
            }
            match r.split_once('-') {
                Some((a, b)) => {
                    matches!((a.trim().parse::<u16>(), b.trim().parse::<u16>()), (Ok(a), Ok(b)) if a <= port && port <= b)
                }
                None => r.parse::<u16>() == Ok(port),
            }
        });
    tcp && inbound && port_in
}

/// What one level lets in from outside the Bastion subnets on one port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Open {
    /// Known addresses let in.
    pub addrs: AddrSet,
    /// Service tags let in (their addresses unknown; all outside).
    pub tags: BTreeSet<String>,
    /// The rules that let them in (`nsg/rule (sources)`).
    pub rules: Vec<String>,
    /// No NSG at this level: everything passes.
    pub unfiltered: bool,
}

impl Open {
    fn any(&self) -> bool {
        self.unfiltered || !self.addrs.is_empty() || !self.tags.is_empty()
    }
}

/// What `nsg` (or no NSG) lets in on TCP `port` to the addresses `dest`, from outside `bastion`.
pub fn level(
    nsg: Option<&NetworkSecurityGroup>,
    port: u16,
    dest: &AddrSet,
    bastion: &AddrSet,
) -> Open {
    let Some(nsg) = nsg else {
        return Open {
            addrs: AddrSet::all().minus(bastion),
            unfiltered: true,
            ..Open::default()
        };
    };
    let nsg_name = nsg.id.rsplit('/').next().unwrap_or_default();
    let mut rules: Vec<_> = nsg
        .properties
        .security_rules
        .iter()
        .filter(|r| covers(&r.properties, port))
        .collect();
    rules.sort_by_key(|r| r.properties.priority);
    let mut undecided = AddrSet::all();
    let mut open = Open::default();
    for rule in rules {
        let p = &rule.properties;
        let fits = applies(p, dest);
        if fits == Applies::No {
            continue;
        }
        let sources: Vec<&String> = p
            .source_address_prefix
            .iter()
            .chain(&p.source_address_prefixes)
            .collect();
        if p.access.eq_ignore_ascii_case("deny") {
            // Only a deny known to cover the NIC removes addresses; a tag's are unknown.
            if fits == Applies::Yes {
                for s in sources {
                    if let Source::Addrs(a) = source(s) {
                        undecided = undecided.minus(&a);
                    }
                }
            }
            continue;
        }
        if !p.access.eq_ignore_ascii_case("allow") {
            continue;
        }
        let mut named = Vec::new();
        for s in sources {
            match source(s) {
                Source::Addrs(a) => {
                    let let_in = a.intersect(&undecided).minus(bastion);
                    if fits == Applies::Yes {
                        undecided = undecided.minus(&a);
                    }
                    if !let_in.is_empty() {
                        open.addrs = open.addrs.union(&let_in);
                        named.push(s.trim().to_owned());
                    }
                }
                Source::Tag(t) if !undecided.is_empty() => {
                    open.tags.insert(t.clone());
                    named.push(t);
                }
                Source::Tag(_) | Source::Inside => {}
            }
        }
        if !named.is_empty() {
            open.rules.push(format!(
                "{nsg_name}/{} (priority {}, from {})",
                rule.name,
                p.priority,
                named.join(", ")
            ));
        }
    }
    open
}

/// Whether traffic passing both levels (`subnet`'s and `nic`'s) reaches the port from outside;
/// the rules that let it through when it does.
pub fn path(subnet: &Open, nic: &Open) -> Option<Vec<String>> {
    let addrs = !subnet.addrs.intersect(&nic.addrs).is_empty();
    let tags = (!subnet.tags.is_empty() && nic.any()) || (!nic.tags.is_empty() && subnet.any());
    (addrs || tags).then(|| {
        let say = |o: &Open, what: &str| {
            if o.unfiltered {
                vec![format!("no NSG on the {what}")]
            } else {
                o.rules.clone()
            }
        };
        let mut all = say(subnet, "subnet");
        all.extend(say(nic, "NIC"));
        all
    })
}

#[cfg(test)]
#[path = "nsg_tests.rs"]
mod tests;
