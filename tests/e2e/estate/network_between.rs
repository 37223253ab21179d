//! Doors opened and closed between two checks, end to end through the real handler's
//! `EstateCheck`: an NSG rule written and deleted, a rule written without a request body and
//! deleted, and a public IP put on a NIC and taken off, all before the check reads the network
//! (Resource Manager fake: nothing of them left), each one finding recorded already resolved,
//! naming both actors, announced once. An Administrative event's `Properties_d` carries the
//! request's body as `requestbody` (JSON text) on its `Start` row (azure-docs
//! `articles/azure-monitor/essentials/activity-log-schema.md`); the `AzureActivity` rows are in
//! the table's documented columns.

use bastion_testkit::loganalytics::{FakeLogs, activity};
use serde_json::{Value, json};

use super::doors::CUSTOMER;
use super::fake_arm::SUB;
use super::fake_arm::network::{nsg_id, rule};
use super::network_reach::{of, rig};
use super::said;
use crate::harness::azurite;

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
