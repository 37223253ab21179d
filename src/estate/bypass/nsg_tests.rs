use serde_json::json;

use super::*;

fn nsg(rules: serde_json::Value) -> NetworkSecurityGroup {
    let v = json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1",
        "properties": {"securityRules": rules}});
    serde_json::from_value(v).unwrap_or_default()
}

fn rule(name: &str, access: &str, priority: i64, source: &str, port: &str) -> serde_json::Value {
    json!({"name": name, "properties": {"protocol": "Tcp", "sourcePortRange": "*",
        "destinationPortRange": port, "sourceAddressPrefix": source,
        "destinationAddressPrefix": "*", "access": access, "priority": priority,
        "direction": "Inbound"}})
}

fn bastion() -> AddrSet {
    AddrSet::prefix("10.0.1.0/26").unwrap_or_default()
}

fn dest() -> AddrSet {
    AddrSet::prefix("10.0.2.4").unwrap_or_default()
}

/// The reason of a path through `rules` at the NIC (its subnet without an NSG).
fn reason(rules: serde_json::Value, port: u16) -> Option<Reason> {
    let n = nsg(rules);
    let nic = level(Some(&n), port, &dest(), &bastion());
    let subnet = level(None, port, &dest(), &bastion());
    path(&subnet, &nic).map(|(r, _)| r)
}

fn open(rules: serde_json::Value, port: u16) -> bool {
    reason(rules, port).is_some()
}

/// `rules` then a deny of every source on 22 and 3389 at 4000, ahead of `AllowVnetInBound`.
fn fenced(mut rules: Vec<serde_json::Value>) -> serde_json::Value {
    rules.push(rule("deny-rest", "Deny", 4000, "*", "22"));
    rules.push(rule("deny-rest-rdp", "Deny", 4001, "*", "3389"));
    json!(rules)
}

#[test]
fn an_allow_from_outside_the_virtual_network_is_an_outside_path() {
    for src in [
        "*",
        "Any",
        "Internet",
        "0.0.0.0/0",
        "203.0.113.0/24",
        "AzureCloud",
        "2001:db8::/32",
    ] {
        let rules = fenced(vec![rule("r", "Allow", 100, src, "22")]);
        assert_eq!(reason(rules, 22), Some(Reason::Outside), "{src}");
    }
    for port in ["3389", "*", "3000-4000"] {
        let rules = fenced(vec![rule("r", "Allow", 100, "*", port)]);
        assert_eq!(reason(rules, 3389), Some(Reason::Outside), "{port}");
    }
}

#[test]
fn the_virtual_network_an_asg_and_private_ranges_are_an_internal_path() {
    for src in [
        "VirtualNetwork",
        "10.0.1.0/24",
        "10.0.2.0/24",
        "172.16.0.0/12",
        "192.168.1.5",
        "fd00::/8",
    ] {
        let rules = fenced(vec![rule("r", "Allow", 100, src, "22")]);
        assert_eq!(reason(rules, 22), Some(Reason::Internal), "{src}");
    }
    let mut asg = rule("from-web", "Allow", 100, "", "3389");
    asg["properties"]["sourceAddressPrefix"] = serde_json::Value::Null;
    asg["properties"]["sourceApplicationSecurityGroups"] = json!([{"id":
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/asg-web"}]);
    let n = nsg(fenced(vec![asg]));
    let (s, nic) = (
        level(None, 3389, &dest(), &bastion()),
        level(Some(&n), 3389, &dest(), &bastion()),
    );
    let (r, said) = path(&s, &nic).expect("a path");
    assert_eq!(r, Reason::Internal);
    assert!(
        said.iter()
            .any(|l| l
                .contains("nsg1/from-web (priority 100, from application security group asg-web)")),
        "{said:?}"
    );
}

#[test]
fn the_default_rules_alone_let_the_virtual_network_in() {
    let n = nsg(json!([]));
    for port in PORTS {
        let nic = level(Some(&n), port, &dest(), &bastion());
        let (r, said) = path(&level(None, port, &dest(), &bastion()), &nic).expect("a path");
        assert_eq!(r, Reason::Internal);
        assert!(
            said.iter().any(|l| l
                == "nsg1/AllowVnetInBound (default rule, priority 65000, from VirtualNetwork)"),
            "{said:?}"
        );
        // The same NSG at both levels: still internal, never outside (DenyAllInBound).
        assert_eq!(path(&nic, &nic).map(|p| p.0), Some(Reason::Internal));
    }
    // Only the probe let in beside: no door from it.
    let probe = fenced(vec![rule("lb", "Allow", 100, "AzureLoadBalancer", "22")]);
    assert_eq!(reason(probe, 22), None);
}

#[test]
fn no_nsg_at_the_subnet_or_the_nic_is_judged_as_everything_allowed() {
    let (b, d) = (bastion(), dest());
    let none = level(None, 22, &d, &b);
    let (r, said) = path(&none, &none).expect("a path");
    assert_eq!(r, Reason::Outside);
    assert_eq!(
        said,
        [
            "no NSG on the subnet (everything allowed)",
            "no NSG on the NIC (everything allowed)"
        ]
    );
    // One level with only the default rules, the other with none: the virtual network gets in.
    let defaults = nsg(json!([]));
    let l = level(Some(&defaults), 22, &d, &b);
    assert_eq!(path(&l, &none).map(|p| p.0), Some(Reason::Internal));
    assert_eq!(path(&none, &l).map(|p| p.0), Some(Reason::Internal));
    // One level fenced to the Bastion subnet: nothing else gets through, whatever the other.
    let only = nsg(fenced(vec![rule("b", "Allow", 100, "10.0.1.0/26", "22")]));
    let l = level(Some(&only), 22, &d, &b);
    assert_eq!(path(&l, &none), None);
    assert_eq!(path(&none, &l), None);
}

#[test]
fn a_deny_of_other_sources_ahead_of_allow_vnet_in_bound_leaves_only_bastion() {
    for src in [
        "10.0.1.0/26",
        "10.0.1.0/27",
        "10.0.1.5",
        "AzureLoadBalancer",
    ] {
        let rules = fenced(vec![rule("r", "Allow", 100, src, "22")]);
        assert!(!open(rules, 22), "{src}");
    }
    // Denying the virtual network is enough: the Internet falls to DenyAllInBound.
    let rules = json!([
        rule("b", "Allow", 100, "10.0.1.0/26", "22"),
        rule("no-vnet", "Deny", 4000, "VirtualNetwork", "22")
    ]);
    assert!(!open(rules, 22));
    // A deny behind AllowVnetInBound comes too late; a deny of the RDP port leaves SSH open.
    let late = json!([
        rule("b", "Allow", 100, "10.0.1.0/26", "22"),
        rule("late", "Deny", 4096, "10.0.0.0/8", "22")
    ]);
    assert_eq!(reason(late, 22), Some(Reason::Internal));
    let rdp_only = json!([rule("deny-rdp", "Deny", 4000, "*", "3389")]);
    assert_eq!(reason(rdp_only.clone(), 3389), None);
    assert_eq!(reason(rdp_only, 22), Some(Reason::Internal));
    assert!(!open(fenced(vec![rule("r", "Allow", 100, "*", "80")]), 22));
    assert!(!open(
        fenced(vec![rule("r", "Allow", 100, "*", "23-3388")]),
        22
    ));
    let mut udp = rule("r", "Allow", 100, "*", "22");
    udp["properties"]["protocol"] = json!("Udp");
    assert!(!open(fenced(vec![udp]), 22));
    let mut out = rule("r", "Allow", 100, "*", "22");
    out["properties"]["direction"] = json!("Outbound");
    assert!(!open(fenced(vec![out]), 22));
    let mut other_vm = rule("r", "Allow", 100, "*", "22");
    other_vm["properties"]["destinationAddressPrefix"] = json!("10.0.3.0/24");
    assert!(!open(fenced(vec![other_vm]), 22), "a rule about another VM");
}

#[test]
fn a_deny_ahead_of_the_allow_closes_only_what_it_covers() {
    let deny_all = rule("deny", "Deny", 100, "*", "22");
    let allow = rule("allow", "Allow", 200, "*", "22");
    assert!(!open(json!([allow.clone(), deny_all.clone()]), 22));
    assert!(!open(json!([deny_all.clone(), allow.clone()]), 22));
    // Priority, not list order, decides.
    let mut late_deny = deny_all.clone();
    late_deny["properties"]["priority"] = json!(300);
    assert!(open(json!([late_deny, allow.clone()]), 22));
    // A deny of part of the space leaves the rest open.
    let deny_part = rule("deny", "Deny", 100, "0.0.0.0/1", "22");
    assert!(open(json!([deny_part, allow.clone()]), 22));
    // A deny of everything outside the Bastion subnet, then allow all: only Bastion gets in.
    let deny_outside: Vec<_> = [
        "0.0.0.0/5",
        "8.0.0.0/7",
        "10.0.0.0/24",
        "10.0.1.64/26",
        "10.0.1.128/25",
        "10.0.2.0/23",
        "10.0.4.0/22",
        "10.0.8.0/21",
        "10.0.16.0/20",
        "10.0.32.0/19",
        "10.0.64.0/18",
        "10.0.128.0/17",
        "10.1.0.0/16",
        "10.2.0.0/15",
        "10.4.0.0/14",
        "10.8.0.0/13",
        "10.16.0.0/12",
        "10.32.0.0/11",
        "10.64.0.0/10",
        "10.128.0.0/9",
        "11.0.0.0/8",
        "12.0.0.0/6",
        "16.0.0.0/4",
        "32.0.0.0/3",
        "64.0.0.0/2",
        "128.0.0.0/1",
        "::/0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut deny = rule("deny", "Deny", 100, "", "22");
    deny["properties"]["sourceAddressPrefix"] = serde_json::Value::Null;
    deny["properties"]["sourceAddressPrefixes"] = json!(deny_outside);
    assert!(!open(json!([deny, allow.clone()]), 22));
    // A deny naming a service tag removes no known address: the allow behind it is reported.
    let deny_tag = rule("deny", "Deny", 100, "Internet", "22");
    assert!(open(json!([deny_tag, allow]), 22));
}

#[test]
fn both_levels_must_let_the_same_source_in() {
    let b = bastion();
    let d = dest();
    let a = nsg(fenced(vec![rule(
        "a",
        "Allow",
        100,
        "203.0.113.0/24",
        "22",
    )]));
    let c = nsg(fenced(vec![rule(
        "c",
        "Allow",
        100,
        "198.51.100.0/24",
        "22",
    )]));
    let only_bastion = nsg(fenced(vec![rule("b", "Allow", 100, "10.0.1.0/26", "22")]));
    let (la, lc) = (level(Some(&a), 22, &d, &b), level(Some(&c), 22, &d, &b));
    assert_eq!(path(&la, &lc), None, "disjoint sources");
    assert!(path(&la, &la).is_some());
    let lb = level(Some(&only_bastion), 22, &d, &b);
    assert_eq!(path(&la, &lb), None, "the NIC admits only Bastion");
    let none = level(None, 22, &d, &b);
    let (_, said) = path(&la, &none).unwrap_or((Reason::Internal, vec![]));
    assert!(
        said[0].contains("nsg1/a (priority 100, from 203.0.113.0/24)"),
        "{said:?}"
    );
}
