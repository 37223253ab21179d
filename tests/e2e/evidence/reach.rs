//! "Reachable only through Bastion" in the pack, end to end on Azurite through the real
//! `handler evidence`: three VMs recorded by the estate check's own code (their network decided
//! by `netdoors::evaluate` from NICs, subnets and NSGs in the REST specification's shapes, or not
//! decided): one fenced to the Bastion subnet, one open to the virtual network by the default
//! rules (an internal path), one whose network no check decided. The manifest's
//! `figures.otherWaysIn.reach`, `vmreach.csv` and the report say 1 / 1 / 1; once the second is
//! fenced, 2 / 0 / 1.

use bastion_recordings::arm::cidr::AddrSet;
use bastion_recordings::estate::bypass::network::Network;
use bastion_recordings::estate::bypass::{doors, netdoors};
use bastion_recordings::estate::findings::Level;
use bastion_recordings::estate::store;
use serde_json::{Value, json};
use time::macros::datetime;

use super::start;

const RG: &str = "/subscriptions/9f3c2b1a-0000-4000-8000-00000000e00f/resourcegroups/rg-vms";

fn vm(name: &str) -> String {
    format!("{RG}/providers/microsoft.compute/virtualmachines/{name}")
}

fn rule(name: &str, access: &str, priority: u32, source: &str) -> Value {
    json!({"name": name, "properties": {"protocol": "Tcp", "sourcePortRange": "*",
        "destinationPortRanges": ["22", "3389"], "sourceAddressPrefix": source,
        "destinationAddressPrefix": "*", "access": access, "priority": priority,
        "direction": "Inbound"}})
}

/// VM `name`'s NIC alone in its subnet behind an NSG of `rules` (the Bastion subnet 10.0.1.0/26).
fn network(name: &str, rules: &[Value]) -> Network {
    let nsg_id = format!("{RG}/providers/microsoft.network/networksecuritygroups/nsg-{name}");
    let subnet = format!("{RG}/providers/microsoft.network/virtualnetworks/vnet/subnets/{name}");
    let nic = json!({"id": format!("{RG}/providers/microsoft.network/networkinterfaces/nic-{name}"),
        "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
            "privateIPAddress": "10.0.2.4", "subnet": {"id": subnet}}}],
            "virtualMachine": {"id": vm(name)}}});
    let nsg = json!({"id": nsg_id, "properties": {"securityRules": rules}});
    let sub = json!({"id": subnet, "name": name, "properties": {"addressPrefix": "10.0.2.0/24",
        "networkSecurityGroup": {"id": nsg_id}}});
    Network {
        nics: vec![serde_json::from_value(nic).expect("nic")],
        nsgs: [(nsg_id, serde_json::from_value(nsg).expect("nsg"))].into(),
        subnets: [(subnet, serde_json::from_value(sub).expect("subnet"))].into(),
        bastion: AddrSet::prefix("10.0.1.0/26"),
        ..Network::default()
    }
}

fn fenced() -> Vec<Value> {
    vec![
        rule("bastion-in", "Allow", 100, "10.0.1.0/26"),
        rule("deny-rest", "Deny", 4000, "*"),
    ]
}

fn pack(e: &crate::audit_logs::support::Env, name: &str) -> (Value, Vec<Vec<String>>, String) {
    let dir = super::doors::pack(e, name, "2025-03-01", "2025-03-31");
    let m: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("m"))
        .expect("json");
    let text = std::fs::read_to_string(dir.join("vmreach.csv")).expect("vmreach.csv");
    let rows = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    let _ = std::fs::remove_dir_all(&dir);
    (m, rows, html)
}

#[tokio::test]
async fn the_pack_counts_the_vms_reachable_only_through_bastion_as_their_last_check_decided() {
    let Some(e) = start().await else { return };
    let tables = e.tables.as_ref();
    let at = datetime!(2025-03-10 08:00 UTC);
    let decide = |name: &str, rules: &[Value]| {
        netdoors::evaluate(&vm(name), &network(name, rules), &[], Level::Medium).expect("decided")
    };
    let defaults_only = decide("vm-open", &[]);
    assert_eq!(defaults_only.findings.len(), 1, "{defaults_only:?}");
    for (name, ev) in [
        ("vm-fenced", decide("vm-fenced", &fenced())),
        ("vm-open", defaults_only),
    ] {
        store::apply_host(tables, &vm(name), &ev, None, at)
            .await
            .expect(name);
    }
    // The Activity log decided vm-unread's doors; no network read decided its network.
    let activity = doors::evaluate(&[vm("vm-unread")].into(), &[], None, &[]);
    store::apply_host(
        tables,
        &vm("vm-unread"),
        &activity[&vm("vm-unread")],
        None,
        at,
    )
    .await
    .expect("vm-unread");

    let (m, rows, html) = pack(&e, "evidence-reach");
    let reach = &m["figures"]["otherWaysIn"]["reach"];
    assert_eq!(
        reach,
        &json!({"bastionOnly": 1, "otherWays": 1, "unknown": 1}),
        "{m:#}"
    );
    let states: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("vm-fenced", "bastion-only"),
            ("vm-open", "other-ways"),
            ("vm-unread", "unknown")
        ]
    );
    assert!(rows[1][4].contains("reason internal"), "{:?}", rows[1]);
    assert!(
        html.contains("1 reachable on SSH/RDP only through Bastion, 1 another way"),
        "{html}"
    );
    let listed = m["files"]
        .as_array()
        .expect("files")
        .iter()
        .any(|f| f["name"] == "vmreach.csv");
    assert!(listed, "{}", m["files"]);

    // vm-open fenced at the next check: two reachable only through Bastion.
    let later = at + time::Duration::minutes(15);
    store::apply_host(
        tables,
        &vm("vm-open"),
        &decide("vm-open", &fenced()),
        None,
        later,
    )
    .await
    .expect("fenced");
    let (m, _, _) = pack(&e, "evidence-reach-fenced");
    assert_eq!(
        m["figures"]["otherWaysIn"]["reach"],
        json!({"bastionOnly": 2, "otherWays": 0, "unknown": 1})
    );
}
