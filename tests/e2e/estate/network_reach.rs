//! "Not from the Bastion subnet" as Azure defines it, end to end through the real handler's
//! `EstateCheck` (Resource Manager fake: NSGs with their default rules, as the REST
//! specification's NSG examples carry them).
//!
//! The `VirtualNetwork` tag covers the virtual network, peered ones, those behind a gateway and
//! every connected on-premises range (azure-docs `articles/virtual-network/service-tags-overview.md`),
//! and every NSG's default `AllowVnetInBound` (65000) admits it on any port
//! (`articles/virtual-network/network-security-groups-overview.md`): SSH/RDP from it, or from an
//! application security group, is a door with reason `internal`.

use bastion_testkit::loganalytics::FakeLogs;
use serde_json::{Value, json};

use super::doors::quiet_workspace;
use super::fake_arm::SUB;
use super::fake_arm::network::{nsg, rule};
use super::network_doors::{clean, fence};
use super::{Rig, said};
use crate::harness::azurite;

/// A handler watching `rg-app` (a scope) on the clean estate, with `extra` settings.
pub(crate) async fn rig(cs: &str, extra: &[(&str, &str)]) -> (FakeLogs, Rig) {
    let (logs, env) = quiet_workspace().await;
    let scope = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("BYPASS_SCOPES", &scope));
    all.extend_from_slice(extra);
    let rig = Rig::new(cs, &all).await;
    rig.arm.with(clean);
    (logs, rig)
}

pub(crate) fn of<'a>(ns: &'a [Value], finding: &str, vm: &str) -> &'a Value {
    ns.iter()
        .find(|n| n["data"]["finding"] == finding && n["data"]["bastionHost"] == vm)
        .map_or(&Value::Null, |n| &n["data"])
}

fn replace_nsg(rig: &Rig, rg: &str, name: &str, rules: Vec<Value>) {
    rig.arm.with(|e| {
        for r in &mut e.network {
            if r["name"] == name {
                *r = nsg(rg, name, rules.clone());
            }
        }
    });
}

#[tokio::test]
async fn ssh_rdp_from_the_virtual_network_an_asg_or_the_default_rules_is_an_internal_door() {
    let Some(cs) = azurite() else { return };
    let (_logs, mut rig) = rig(&cs, &[("BYPASS_INTERNAL_LEVEL", "high")]).await;
    assert_eq!(rig.check().await, Vec::<Value>::new(), "fenced: none");

    // vm5's NIC NSG left with its default rules only (its subnet has no NSG); the app subnet's
    // NSG admits an application security group ahead of its fence.
    replace_nsg(&rig, "rg-app", "nsg-vm5", vec![]);
    let mut asg = rule("ssh-from-web", "Allow", 150, "", "22");
    asg["properties"]["sourceAddressPrefix"] = Value::Null;
    asg["properties"]["sourceApplicationSecurityGroups"] = json!([{"id": format!(
        "/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/applicationSecurityGroups/asg-web"
    )}]);
    let mut rules = fence();
    rules.push(asg);
    replace_nsg(&rig, "rg-net", "nsg-app", rules);
    let ns = rig.check().await;
    let found = |vm: &str| {
        (
            "estate.finding".to_owned(),
            "door:network-path".to_owned(),
            vm.to_owned(),
        )
    };
    assert_eq!(
        said(&ns),
        ["vm5", "vm6", "vm7", "vm8"].map(found),
        "{ns:#?}"
    );
    let vm5 = of(&ns, "door:network-path", "vm5");
    assert_eq!(vm5["findingSeverity"], "high", "BYPASS_INTERNAL_LEVEL");
    let e = vm5["evidence"].as_str().unwrap_or_default();
    assert!(
        e.starts_with("reason internal")
            && e.contains("TCP 22 to 10.0.3.4 on NIC nic-vm5 (internal)")
            && e.contains("no NSG on the subnet (everything allowed)")
            && e.contains(
                "nsg-vm5/AllowVnetInBound (default rule, priority 65000, from VirtualNetwork)"
            ),
        "{e}"
    );
    let e = of(&ns, "door:network-path", "vm6")["evidence"].to_string();
    assert!(
        e.contains("nsg-app/ssh-from-web (priority 150, from application security group asg-web)")
            && !e.contains("TCP 3389"),
        "{e}"
    );

    // An outside source beside it: the reason becomes outside.
    let mut rules = fence();
    rules.push(rule("rdp-office", "Allow", 120, "203.0.113.0/24", "3389"));
    replace_nsg(&rig, "rg-app", "nsg-vm5", rules);
    let _ = rig.check().await;
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let vm5 = items
        .iter()
        .find(|i| i["finding"] == "door:network-path" && i["hostName"] == "vm5")
        .cloned()
        .unwrap_or_default();
    let e = vm5["evidence"].as_str().unwrap_or_default();
    assert!(
        e.starts_with("reason outside") && e.contains("nsg-vm5/rdp-office"),
        "{vm5:#?}"
    );
    assert_eq!(vm5["severity"], "medium", "{vm5:#?}");

    // Fenced again: each clears once.
    replace_nsg(&rig, "rg-app", "nsg-vm5", fence());
    replace_nsg(&rig, "rg-net", "nsg-app", fence());
    let cleared = |vm: &str| {
        (
            "estate.resolved".to_owned(),
            "door:network-path".to_owned(),
            vm.to_owned(),
        )
    };
    assert_eq!(
        said(&rig.check().await),
        ["vm5", "vm6", "vm7", "vm8"].map(cleared)
    );
}
