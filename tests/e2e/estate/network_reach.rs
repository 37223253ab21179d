//! "Not from the Bastion subnet" as Azure defines it, and doors opened and closed between two
//! checks, end to end through the real handler's `EstateCheck` (Resource Manager fake: NSGs with
//! their default rules, as the REST specification's NSG examples carry them; Logs Query fake:
//! `AzureActivity` rows in the table's documented columns).
//!
//! The `VirtualNetwork` tag covers the virtual network, peered ones, those behind a gateway and
//! every connected on-premises range (azure-docs `articles/virtual-network/service-tags-overview.md`),
//! and every NSG's default `AllowVnetInBound` (65000) admits it on any port
//! (`articles/virtual-network/network-security-groups-overview.md`): SSH/RDP from it, or from an
//! application security group, is a door with reason `internal`. An Administrative event's
//! `Properties_d` carries the request's body as `requestbody` (JSON text) on its `Start` row
//! (`articles/azure-monitor/essentials/activity-log-schema.md`); a row without it leaves a rule's
//! content unknown.

use bastion_recordings::loganalytics::testing::{FakeLogs, activity};
use serde_json::{Value, json};

use super::Rig;
use super::doors::{CUSTOMER, quiet_workspace};
use super::fake_arm::SUB;
use super::fake_arm::network::{nsg, nsg_id, rule};
use super::network_doors::{clean, fence};
use crate::harness::azurite;

/// A handler watching `rg-app` (a scope) on the clean estate, with `extra` settings.
async fn rig(cs: &str, extra: &[(&str, &str)]) -> (FakeLogs, Rig) {
    let (logs, env) = quiet_workspace().await;
    let scope = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("BYPASS_SCOPES", &scope));
    all.extend_from_slice(extra);
    let rig = Rig::new(cs, &all).await;
    rig.arm.with(clean);
    (logs, rig)
}

/// `(type, finding, VM)` of each notification, sorted.
fn said(ns: &[Value]) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut out: Vec<_> = ns
        .iter()
        .map(|n| {
            (
                s(&n["type"]),
                s(&n["data"]["finding"]),
                s(&n["data"]["bastionHost"]),
            )
        })
        .collect();
    out.sort();
    out
}

fn of<'a>(ns: &'a [Value], finding: &str, vm: &str) -> &'a Value {
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

/// One `AzureActivity` row of operation `op` on `resource`; `body` (the request's, on a `Start`
/// row) as `Properties_d.requestbody` JSON text.
fn row(
    logs: &FakeLogs,
    (op, status, correlation): (&str, &str, &str),
    caller: &str,
    resource: &str,
    at: &str,
    body: Option<&Value>,
) {
    let mut properties = json!({"statusCode": if status == "Start" { "" } else { "OK" },
        "eventCategory": "Administrative", "entity": resource, "message": op});
    if let Some(b) = body {
        properties["requestbody"] = json!(b.to_string());
    }
    let values = json!({"TimeGenerated": at, "OperationNameValue": op.to_ascii_uppercase(),
        "ActivityStatusValue": status, "Caller": caller, "CallerIpAddress": "198.51.100.4",
        "_ResourceId": resource.to_ascii_lowercase(), "ResourceId": resource.to_ascii_uppercase(),
        "SubscriptionId": SUB, "CorrelationId": correlation, "Category": "Administrative",
        "Properties_d": properties});
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    logs.ingest(
        CUSTOMER,
        activity::row(values.as_object().cloned().unwrap_or_default(), visible),
    );
}

/// An operation's `Start` (with `body`) and `Success` rows, 10 seconds apart.
fn op(
    logs: &FakeLogs,
    op: &str,
    correlation: &str,
    caller: &str,
    resource: &str,
    at: &str,
    body: Option<&Value>,
) {
    row(
        logs,
        (op, "Start", correlation),
        caller,
        resource,
        &format!("{at}:00Z"),
        body,
    );
    row(
        logs,
        (op, "Success", correlation),
        "",
        resource,
        &format!("{at}:10Z"),
        None,
    );
}

#[tokio::test]
async fn a_rule_and_a_public_ip_opened_and_closed_between_two_checks_are_each_one_resolved_finding()
{
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = rig(&cs, &[]).await;
    assert_eq!(rig.check().await, Vec::<Value>::new(), "clean");

    // RDP from the Internet on vm5's NSG for ten minutes; a public IP on vm6's NIC for thirteen;
    // a rule on the app subnet's NSG written without a body and deleted. None is there now.
    let write = "Microsoft.Network/networkSecurityGroups/securityRules/write";
    let delete = "Microsoft.Network/networkSecurityGroups/securityRules/delete";
    let brief = format!("{}/securityRules/rdp-brief", nsg_id("rg-app", "nsg-vm5"));
    let open_rdp =
        json!({"properties": rule("rdp-brief", "Allow", 200, "Internet", "3389")["properties"]});
    op(
        &logs,
        write,
        "w1",
        "mallory@contoso.com",
        &brief,
        "2026-11-25T11:30",
        Some(&open_rdp),
    );
    op(
        &logs,
        delete,
        "d1",
        "bob@contoso.com",
        &brief,
        "2026-11-25T11:40",
        None,
    );
    let unknown = format!("{}/securityRules/ssh-unknown", nsg_id("rg-net", "nsg-app"));
    op(
        &logs,
        write,
        "w2",
        "mallory@contoso.com",
        &unknown,
        "2026-11-25T11:33",
        None,
    );
    op(
        &logs,
        delete,
        "d2",
        "bob@contoso.com",
        &unknown,
        "2026-11-25T11:34",
        None,
    );
    let nic = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/networkInterfaces/nic-vm6"
    );
    let pip = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/publicIPAddresses/pip-brief"
    );
    let config = |pip: Option<&str>| {
        let mut c = json!({"name": "ipconfig1", "properties": {"privateIPAddress": "10.0.2.4",
            "privateIPAllocationMethod": "Dynamic"}});
        if let Some(p) = pip {
            c["properties"]["publicIPAddress"] = json!({"id": p});
        }
        json!({"location": "westeurope", "properties": {"ipConfigurations": [c]}})
    };
    let nic_write = "Microsoft.Network/networkInterfaces/write";
    op(
        &logs,
        nic_write,
        "n1",
        "mallory@contoso.com",
        &nic,
        "2026-11-25T11:32",
        Some(&config(Some(&pip))),
    );
    op(
        &logs,
        nic_write,
        "n2",
        "bob@contoso.com",
        &nic,
        "2026-11-25T11:45",
        Some(&config(None)),
    );

    let ns = rig.check().await;
    let found = |f: &str, vm: &str| ("estate.finding".to_owned(), f.to_owned(), vm.to_owned());
    assert_eq!(
        said(&ns),
        [
            found("door:network-path", "vm5"),
            found("door:network-path", "vm6"),
            found("door:network-path", "vm7"),
            found("door:network-path", "vm8"),
            found("door:public-ip", "vm6"),
        ],
        "{ns:#?}"
    );
    let vm5 = of(&ns, "door:network-path", "vm5");
    assert_eq!(
        (
            &vm5["firstSeen"],
            &vm5["resolvedAt"],
            &vm5["findingSeverity"]
        ),
        (
            &json!("2026-11-25T11:30:00.000Z"),
            &json!("2026-11-25T11:40:00.000Z"),
            &json!("medium")
        ),
        "{vm5:#?}"
    );
    let e = vm5["evidence"].as_str().unwrap_or_default();
    assert!(
        e.starts_with("reason outside: opened and closed between two checks")
            && e.contains("written at 2026-11-25T11:30:00Z by mallory@contoso.com")
            && e.contains("at 2026-11-25T11:40:00Z by bob@contoso.com")
            && e.contains("TCP 3389 to 10.0.3.4 on NIC nic-vm5 (outside)"),
        "{e}"
    );
    let vm7 = of(&ns, "door:network-path", "vm7")["evidence"].to_string();
    assert!(
        vm7.contains("reason unknown") && vm7.contains("content is unknown"),
        "{vm7}"
    );
    let ip = of(&ns, "door:public-ip", "vm6");
    assert_eq!(ip["resolvedAt"], "2026-11-25T11:45:00.000Z", "{ip:#?}");
    let e = ip["evidence"].as_str().unwrap_or_default();
    assert!(
        e.contains("pip-brief put on NIC nic-vm6 at 2026-11-25T11:32:00Z by mallory@contoso.com")
            && e.contains("taken off at 2026-11-25T11:45:00Z by bob@contoso.com"),
        "{e}"
    );

    // The next check reads the same rows: nothing again. Each is listed resolved, none open.
    assert_eq!(rig.check().await, Vec::<Value>::new());
    let doors = |v: &Value| {
        let items = v["items"].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .filter(|i| {
                i["finding"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("door:"))
            })
            .count()
    };
    let (_, open) = rig.handler.get_json("/api/estate?status=open").await;
    assert_eq!(doors(&open), 0, "{open:#?}");
    let (_, resolved) = rig.handler.get_json("/api/estate?status=resolved").await;
    assert_eq!(doors(&resolved), 5, "{resolved:#?}");
}
