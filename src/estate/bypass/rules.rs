//! What one NSG rule says (pure): its sources (address ranges, the `VirtualNetwork` tag, an
//! application security group, the platform's probe, another service tag), whether it is about a
//! NIC's address and covers an inbound TCP port; and the default rules every NSG has.

use crate::arm::cidr::AddrSet;
use crate::arm::{RuleProperties, SecurityRule};

/// The default inbound rules of every NSG (Azure adds them; they cannot be removed), as
/// azure-docs `articles/virtual-network/network-security-groups-overview.md` lists them.
pub(super) fn default_rules() -> [SecurityRule; 3] {
    let rule = |name: &str, source: &str, dest: &str, access: &str, priority: i64| SecurityRule {
        name: name.to_owned(),
        properties: RuleProperties {
            protocol: "*".to_owned(),
            access: access.to_owned(),
            direction: "Inbound".to_owned(),
            priority,
            destination_port_range: Some("*".to_owned()),
            source_address_prefix: Some(source.to_owned()),
            destination_address_prefix: Some(dest.to_owned()),
            ..RuleProperties::default()
        },
    };
    [
        rule(
            "AllowVnetInBound",
            "VirtualNetwork",
            "VirtualNetwork",
            "Allow",
            65000,
        ),
        rule(
            "AllowAzureLoadBalancerInBound",
            "AzureLoadBalancer",
            "*",
            "Allow",
            65001,
        ),
        rule("DenyAllInBound", "*", "*", "Deny", 65500),
    ]
}

pub(super) enum Source {
    Addrs(AddrSet),
    /// The `VirtualNetwork` tag.
    Vnet,
    /// An application security group: NICs of the virtual network.
    Asg,
    /// `AzureLoadBalancer`: the platform's health probe.
    Probe,
    Tag(String),
}

fn source(text: &str) -> Source {
    let t = text.trim();
    if t == "*" || t.eq_ignore_ascii_case("any") {
        return Source::Addrs(AddrSet::all());
    }
    if t.eq_ignore_ascii_case("VirtualNetwork") {
        return Source::Vnet;
    }
    if t.eq_ignore_ascii_case("AzureLoadBalancer") {
        return Source::Probe;
    }
    AddrSet::prefix(t).map_or_else(|| Source::Tag(t.to_owned()), Source::Addrs)
}

/// A rule's sources: its prefixes and tags, and its application security groups (by name).
pub(super) fn sources(p: &RuleProperties) -> Vec<(String, Source)> {
    let prefixes = p
        .source_address_prefix
        .iter()
        .chain(&p.source_address_prefixes)
        .map(|s| (s.trim().to_owned(), source(s)));
    let groups = p.source_application_security_groups.iter().map(|g| {
        let name = g.id.rsplit('/').next().unwrap_or_default();
        (format!("application security group {name}"), Source::Asg)
    });
    prefixes.chain(groups).collect()
}

#[derive(PartialEq, Eq)]
pub(super) enum Applies {
    Yes,
    No,
    Unknown,
}

/// Whether `rule` is about the NIC's addresses `dest` (empty: not known, so it is).
pub(super) fn applies(rule: &RuleProperties, dest: &AddrSet) -> Applies {
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
pub(super) fn covers(rule: &RuleProperties, port: u16) -> bool {
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
