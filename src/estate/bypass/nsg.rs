//! Whether the NSGs in front of a NIC let TCP 22 or 3389 in from anywhere but the Bastion subnet
//! (pure). Each NSG's own rules, then the default rules every NSG has (`AllowVnetInBound` 65000,
//! `VirtualNetwork` to `VirtualNetwork` on any port; `AllowAzureLoadBalancerInBound` 65001;
//! `DenyAllInBound` 65500), are decided in priority order, the first that matches a packet
//! deciding it, as Azure does; traffic must pass the subnet's NSG and the NIC's; a level without
//! an NSG lets everything through. A source is the Bastion subnet's addresses (no door),
//! `AzureLoadBalancer` (the platform's health probe, no door), **internal** (the `VirtualNetwork`
//! tag: the virtual network, peered ones, those behind a gateway and every connected on-premises
//! range; an application security group: NICs of the virtual network; a private range outside
//! the Bastion subnet) or **outside** (any other address, `Internet` and every other service
//! tag). Tags' addresses are unknown: a deny naming one removes nothing but that tag (an allow
//! behind it is reported), and a deny of prefixes does not decide `VirtualNetwork` (its peered
//! and connected ranges are not read) unless every address but the Bastion subnets' is decided.

use std::collections::BTreeSet;

use super::rules::{Applies, Source, applies, covers, default_rules, sources};
use crate::arm::NetworkSecurityGroup;
use crate::arm::cidr::AddrSet;
use crate::names::named;

/// The ports a remote session uses: SSH and RDP.
pub const PORTS: [u16; 2] = [22, 3389];

named! {
    /// Why a path to 22/3389 is a door: the worse is the greater.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Reason {
        /// From inside the virtual network or a network connected to it, beside the Bastion subnet.
        Internal = "internal",
        /// From outside the virtual network (a public address, `Internet`, another service tag).
        Outside = "outside",
    }
}

/// A rule that lets something through, and what kind of source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// `nsg/rule (priority p, from sources)`.
    pub text: String,
    /// It lets in an outside source.
    pub outside: bool,
    /// It lets in an internal source.
    pub internal: bool,
}

/// What one level lets in on one port, beside the Bastion subnets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Open {
    /// Known addresses let in (outside the Bastion subnets).
    pub addrs: AddrSet,
    /// Service tags let in (their addresses unknown; all outside).
    pub tags: BTreeSet<String>,
    /// The `VirtualNetwork` tag or an application security group let in.
    pub vnet: bool,
    /// The rules that let them in.
    pub rules: Vec<Named>,
    /// No NSG at this level: everything passes.
    pub unfiltered: bool,
}

impl Open {
    /// Lets in something outside the virtual network.
    fn outside(&self) -> bool {
        !self.tags.is_empty() || !self.addrs.minus(&AddrSet::private()).is_empty()
    }

    /// Lets in something of the virtual network's (or a connected network's) private ranges.
    fn internal(&self) -> bool {
        self.vnet || !self.addrs.intersect(&AddrSet::private()).is_empty()
    }
}

/// What `nsg` (or no NSG) lets in on TCP `port` to the addresses `dest`, beside `bastion`.
pub fn level(
    nsg: Option<&NetworkSecurityGroup>,
    port: u16,
    dest: &AddrSet,
    bastion: &AddrSet,
) -> Open {
    let Some(nsg) = nsg else {
        return Open {
            addrs: AddrSet::all().minus(bastion),
            vnet: true,
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
    let defaults = default_rules();
    rules.extend(defaults.iter().filter(|r| covers(&r.properties, port)));
    let private = AddrSet::private();
    let mut undecided = AddrSet::all();
    // The `VirtualNetwork` tag's addresses (unknown) not yet decided, and the tags denied.
    let mut vnet_undecided = true;
    let mut denied_tags = BTreeSet::new();
    let mut open = Open::default();
    for rule in rules {
        let p = &rule.properties;
        let fits = applies(p, dest);
        if fits == Applies::No {
            continue;
        }
        let sources = sources(p);
        if p.access.eq_ignore_ascii_case("deny") {
            // Only a deny known to cover the NIC decides anything.
            if fits == Applies::Yes {
                for (_, s) in sources {
                    match s {
                        Source::Addrs(a) => undecided = undecided.minus(&a),
                        Source::Vnet => vnet_undecided = false,
                        Source::Tag(t) => {
                            denied_tags.insert(t.to_ascii_lowercase());
                        }
                        Source::Asg | Source::Probe => {}
                    }
                }
            }
            continue;
        }
        if !p.access.eq_ignore_ascii_case("allow") {
            continue;
        }
        let mut named = Vec::new();
        let (mut outside, mut internal) = (false, false);
        for (text, s) in sources {
            // The tag's undecided addresses lie beyond the Bastion subnets.
            let vnet = vnet_undecided && !undecided.minus(bastion).is_empty();
            match s {
                Source::Addrs(a) => {
                    let let_in = a.intersect(&undecided).minus(bastion);
                    if fits == Applies::Yes {
                        undecided = undecided.minus(&a);
                    }
                    if !let_in.is_empty() {
                        outside |= !let_in.minus(&private).is_empty();
                        internal |= !let_in.intersect(&private).is_empty();
                        open.addrs = open.addrs.union(&let_in);
                        named.push(text);
                    }
                }
                Source::Vnet | Source::Asg if vnet => {
                    if matches!(s, Source::Vnet) && fits == Applies::Yes {
                        vnet_undecided = false;
                    }
                    open.vnet = true;
                    internal = true;
                    named.push(text);
                }
                Source::Tag(t)
                    if !undecided.is_empty() && !denied_tags.contains(&t.to_ascii_lowercase()) =>
                {
                    open.tags.insert(t);
                    outside = true;
                    named.push(text);
                }
                Source::Vnet | Source::Asg | Source::Tag(_) | Source::Probe => {}
            }
        }
        if !named.is_empty() {
            let default = if p.priority >= 65000 {
                "default rule, "
            } else {
                ""
            };
            open.rules.push(Named {
                text: format!(
                    "{nsg_name}/{} ({default}priority {}, from {})",
                    rule.name,
                    p.priority,
                    named.join(", ")
                ),
                outside,
                internal,
            });
        }
    }
    open
}

/// Whether traffic passing both levels (`subnet`'s and `nic`'s) reaches the port from anywhere
/// but the Bastion subnets: the worst reason, and the rules that let it through for it. Outside
/// when both let a public address in, or one a tag and the other anything outside; internal when
/// both let a private address in, or one the virtual network and the other it or a private
/// address.
pub fn path(subnet: &Open, nic: &Open) -> Option<(Reason, Vec<String>)> {
    let private = AddrSet::private();
    let both = subnet.addrs.intersect(&nic.addrs);
    let outside = !both.minus(&private).is_empty()
        || (!subnet.tags.is_empty() && nic.outside())
        || (!nic.tags.is_empty() && subnet.outside());
    let internal = !both.intersect(&private).is_empty()
        || (subnet.vnet && nic.internal())
        || (nic.vnet && subnet.internal());
    let reason = if outside {
        Reason::Outside
    } else if internal {
        Reason::Internal
    } else {
        return None;
    };
    let say = |o: &Open, what: &str| {
        if o.unfiltered {
            return vec![format!("no NSG on the {what} (everything allowed)")];
        }
        o.rules
            .iter()
            .filter(|r| match reason {
                Reason::Outside => r.outside,
                Reason::Internal => r.internal,
            })
            .map(|r| r.text.clone())
            .collect()
    };
    let mut all = say(subnet, "subnet");
    all.extend(say(nic, "NIC"));
    Some((reason, all))
}

#[cfg(test)]
#[path = "nsg_tests.rs"]
mod tests;
