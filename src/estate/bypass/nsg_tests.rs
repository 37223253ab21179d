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

fn open(rules: serde_json::Value, port: u16) -> bool {
    let n = nsg(rules);
    let nic = level(Some(&n), port, &dest(), &bastion());
    let subnet = level(None, port, &dest(), &bastion());
    path(&subnet, &nic).is_some()
}

#[test]
fn an_allow_from_outside_the_bastion_subnet_is_a_path() {
    for src in [
        "*",
        "Any",
        "Internet",
        "0.0.0.0/0",
        "203.0.113.0/24",
        "10.0.1.0/24",
        "AzureCloud",
        "2001:db8::/32",
    ] {
        assert!(
            open(json!([rule("r", "Allow", 100, src, "22")]), 22),
            "{src}"
        );
    }
    for port in ["3389", "*", "3000-4000"] {
        assert!(
            open(json!([rule("r", "Allow", 100, "*", port)]), 3389),
            "{port}"
        );
    }
}

#[test]
fn the_bastion_subnet_the_virtual_network_and_other_ports_are_no_path() {
    for src in [
        "10.0.1.0/26",
        "10.0.1.0/27",
        "10.0.1.5",
        "VirtualNetwork",
        "AzureLoadBalancer",
    ] {
        assert!(
            !open(json!([rule("r", "Allow", 100, src, "22")]), 22),
            "{src}"
        );
    }
    assert!(!open(json!([rule("r", "Allow", 100, "*", "80")]), 22));
    assert!(!open(json!([rule("r", "Allow", 100, "*", "23-3388")]), 22));
    assert!(
        !open(json!([]), 22),
        "the default rules open nothing from outside"
    );
    let mut udp = rule("r", "Allow", 100, "*", "22");
    udp["properties"]["protocol"] = json!("Udp");
    assert!(!open(json!([udp]), 22));
    let mut out = rule("r", "Allow", 100, "*", "22");
    out["properties"]["direction"] = json!("Outbound");
    assert!(!open(json!([out]), 22));
    let mut other_vm = rule("r", "Allow", 100, "*", "22");
    other_vm["properties"]["destinationAddressPrefix"] = json!("10.0.3.0/24");
    assert!(!open(json!([other_vm]), 22), "a rule about another VM");
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
    let a = nsg(json!([rule("a", "Allow", 100, "203.0.113.0/24", "22")]));
    let c = nsg(json!([rule("c", "Allow", 100, "198.51.100.0/24", "22")]));
    let only_bastion = nsg(json!([rule("b", "Allow", 100, "10.0.1.0/26", "22")]));
    let (la, lc) = (level(Some(&a), 22, &d, &b), level(Some(&c), 22, &d, &b));
    assert_eq!(path(&la, &lc), None, "disjoint sources");
    assert!(path(&la, &la).is_some());
    let lb = level(Some(&only_bastion), 22, &d, &b);
    assert_eq!(path(&la, &lb), None, "the NIC admits only Bastion");
    let none = level(None, 22, &d, &b);
    let said = path(&none, &none).unwrap_or_default();
    assert_eq!(said, ["no NSG on the subnet", "no NSG on the NIC"]);
    let said = path(&la, &none).unwrap_or_default();
    assert!(
        said[0].contains("nsg1/a (priority 100, from 203.0.113.0/24)"),
        "{said:?}"
    );
}
