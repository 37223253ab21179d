//! Doors 4–6 end to end: the real handler's `EstateCheck` reads the watched VMs' NICs, subnets
//! and NSGs from the Resource Manager fake (list bodies in the REST specification's example
//! shapes) and `AzureActivity` from the Logs Query fake. A rule letting RDP in from the Internet,
//! a public IP on a NIC and a just-in-time request for a source outside the Bastion subnet each
//! raise one finding naming its actor where a log names one, and the first two clear when
//! closed; a clean estate (NSGs admitting SSH/RDP from the Bastion subnet and denying every other
//! source ahead of `AllowVnetInBound`, no public IP, just-in-time from the Bastion subnet) raises
//! none; two instances announce each door once.

use bastion_testkit::loganalytics::FakeLogs;
use bastion_testkit::loganalytics::activity;
use futures::future::join_all;
use serde_json::{Value, json};

use super::doors::{CUSTOMER, activity, quiet_workspace, vm};
use super::fake_arm::network::{jit_policy, nic, nsg, nsg_id, rule, subnet_id, vnet};
use super::fake_arm::{Estate, SUB};
use super::{Rig, notifications};
use crate::harness::{HandlerProcess, azurite, fixture};

const BASTION: &str = "10.0.1.0/26";

/// SSH and RDP from the Bastion subnet, every other source denied ahead of `AllowVnetInBound`
/// (Microsoft's guidance for VMs behind Bastion).
pub(crate) fn fence() -> Vec<Value> {
    vec![
        rule("ssh-from-bastion", "Allow", 100, BASTION, "22"),
        rule("rdp-from-bastion", "Allow", 110, BASTION, "3389"),
        rule("deny-ssh", "Deny", 4000, "*", "22"),
        rule("deny-rdp", "Deny", 4010, "*", "3389"),
    ]
}

/// The hub network (the Bastion subnet, the app subnet behind an NSG admitting SSH/RDP only
/// from the Bastion subnet, a subnet without an NSG) and four VMs' NICs in `rg-app`, all clean.
pub(crate) fn clean(e: &mut Estate) {
    let app_nsg = nsg_id("rg-net", "nsg-app");
    e.network = vec![
        vnet(
            "rg-net",
            "vnet-hub",
            "10.0.0.0/16",
            &[
                ("AzureBastionSubnet", BASTION, None),
                ("app", "10.0.2.0/24", Some(app_nsg.as_str())),
                ("dmz", "10.0.3.0/24", None),
            ],
        ),
        nsg("rg-net", "nsg-app", fence()),
        nsg("rg-app", "nsg-vm5", fence()),
    ];
    // vm5 sits in a subnet without an NSG, behind its own NIC's.
    let vm5_nsg = nsg_id("rg-app", "nsg-vm5");
    let dmz = subnet_id("rg-net", "vnet-hub", "dmz");
    let vm5 = nic(
        "rg-app",
        "nic-vm5",
        &vm("vm5"),
        &dmz,
        "10.0.3.4",
        Some(vm5_nsg.as_str()),
        None,
    );
    e.network.push(vm5);
    let app = subnet_id("rg-net", "vnet-hub", "app");
    for (i, name) in ["vm6", "vm7", "vm8"].iter().enumerate() {
        let address = format!("10.0.2.{}", 4 + i);
        e.network.push(nic(
            "rg-app",
            &format!("nic-{name}"),
            &vm(name),
            &app,
            &address,
            None,
            None,
        ));
    }
    e.host("b1")["properties"]["ipConfigurations"] = json!([{"name": "IpConf",
        "id": format!("{}/bastionHostIpConfigurations/IpConf", super::fake_arm::host_id("b1")),
        "properties": {"subnet": {"id": subnet_id("rg-net", "vnet-hub", "AzureBastionSubnet")},
            "publicIPAddress": {"id": format!("/subscriptions/{SUB}/resourceGroups/rg-bastion/providers/Microsoft.Network/publicIPAddresses/pip-b1")},
            "privateIPAllocationMethod": "Dynamic"}}]);
}

/// One just-in-time `initiate` row of policy `default` in `rg-app`; `asked`: the VM and source
/// its request body (in `Properties_d`, as JSON text) names, `None` for a row without a body
/// (whether `AzureActivity` carries it is not documented: then only the policy names the VM).
fn jit(logs: &FakeLogs, caller: &str, asked: Option<(&str, &str)>, correlation: &str) {
    let policy = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default"
    );
    let mut properties = json!({"statusCode": "Accepted", "eventCategory": "Administrative"});
    if let Some((target, source)) = asked {
        let body = json!({"virtualMachines": [{"id": target, "ports": [{"number": 3389,
            "endTimeUtc": "2026-11-25T14:00:00Z", "allowedSourceAddressPrefix": source}]}],
            "justification": "patching"});
        properties["requestbody"] = json!(body.to_string());
    }
    let values = json!({"TimeGenerated": "2026-11-25T11:40:00Z",
        "OperationNameValue": "MICROSOFT.SECURITY/LOCATIONS/JITNETWORKACCESSPOLICIES/INITIATE/ACTION",
        "ActivityStatusValue": "Success", "Caller": caller, "CallerIpAddress": "198.51.100.9",
        "_ResourceId": policy.to_ascii_lowercase(), "ResourceId": policy.to_ascii_uppercase(),
        "SubscriptionId": SUB, "CorrelationId": correlation, "Category": "Administrative",
        "Properties_d": properties});
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let values = values.as_object().cloned().unwrap_or_default();
    logs.ingest(CUSTOMER, activity::row(values, visible));
}

/// A handler watching `rg-app` (a scope) on the clean estate, reading the quiet workspace.
async fn scoped_rig(cs: &str) -> (FakeLogs, Rig) {
    let (logs, env) = quiet_workspace().await;
    let scope = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("BYPASS_SCOPES", &scope));
    let rig = Rig::new(cs, &extra).await;
    rig.arm.with(clean);
    (logs, rig)
}

fn finding<'a>(ns: &'a [Value], code: &str) -> Vec<&'a Value> {
    ns.iter().filter(|n| n["data"]["finding"] == code).collect()
}

#[tokio::test]
async fn a_network_path_a_public_ip_and_jit_to_another_source_each_raise_one_finding_and_clear() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
    // A clean estate: SSH/RDP only from the Bastion subnet, no public IP, JIT from Bastion.
    jit(
        &logs,
        "ops@contoso.com",
        Some((&vm("vm8"), "10.0.1.4")),
        "j0",
    );
    assert_eq!(
        rig.check().await,
        Vec::<Value>::new(),
        "a clean estate raises none"
    );

    // Open three doors.
    rig.arm.with(|e| {
        for r in &mut e.network {
            if r["name"] == "nsg-vm5" {
                let mut rules = fence();
                rules.push(rule("rdp-anywhere", "Allow", 200, "Internet", "3389"));
                *r = nsg("rg-app", "nsg-vm5", rules);
            }
            if r["name"] == "nic-vm6" {
                r["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = json!({"id":
                    format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/publicIPAddresses/pip-vm6")});
            }
        }
    });
    let write = "Microsoft.Network/networkSecurityGroups/securityRules/write";
    let rule_id = format!("{}/securityRules/rdp-anywhere", nsg_id("rg-app", "nsg-vm5"));
    activity(
        &logs,
        (write, "Start", "w1"),
        "frank@contoso.com",
        &rule_id,
        "2026-11-25T11:35:00Z",
    );
    activity(
        &logs,
        (write, "Success", "w1"),
        "",
        &rule_id,
        "2026-11-25T11:35:30Z",
    );
    jit(
        &logs,
        "grace@contoso.com",
        Some((&vm("vm7"), "203.0.113.7")),
        "j1",
    );
    // Two instances run the tick that finds them: each door is announced once between them.
    let other = HandlerProcess::spawn(&rig.env.pairs()).await;
    let tick = rig.next_timer("EstateCheck");
    let replies = join_all([&rig.handler, &other].map(|h| h.invoke("EstateCheck", &tick))).await;
    let mut ns = Vec::new();
    for (status, body) in replies {
        assert_eq!(status, 200, "{body}");
        ns.extend(notifications(&body));
    }
    assert_eq!(
        ns.len(),
        3,
        "three doors within one tick, once each: {ns:#?}"
    );
    for (code, host, level, who) in [
        (
            "door:network-path",
            "vm5",
            "medium",
            Some("frank@contoso.com"),
        ),
        ("door:public-ip", "vm6", "medium", None),
        ("door:jit", "vm7", "high", Some("grace@contoso.com")),
    ] {
        let n = finding(&ns, code);
        assert_eq!(n.len(), 1, "{code}: {ns:#?}");
        assert_eq!(n[0]["type"], "estate.finding");
        assert_eq!(n[0]["data"]["bastionHost"], host);
        assert_eq!(n[0]["data"]["findingSeverity"], level);
        let evidence = n[0]["data"]["evidence"].as_str().unwrap_or_default();
        if let Some(who) = who {
            assert!(evidence.contains(who), "{evidence}");
        }
    }
    let path = finding(&ns, "door:network-path")[0]["data"]["evidence"].to_string();
    assert!(
        path.contains("nsg-vm5/rdp-anywhere") && path.contains("TCP 3389"),
        "{path}"
    );
    assert!(
        !path.contains("TCP 22 "),
        "SSH is admitted from Bastion only: {path}"
    );
    assert!(
        finding(&ns, "door:jit")[0]["data"]["evidence"]
            .to_string()
            .contains("203.0.113.7")
    );
    // The next tick: the same episodes, nothing announced again.
    assert_eq!(rig.check().await, Vec::<Value>::new());

    // Closed: the rule removed, the public IP detached; each clears once.
    rig.arm.with(|e| {
        for r in &mut e.network {
            if r["name"] == "nsg-vm5" {
                *r = nsg("rg-app", "nsg-vm5", fence());
            }
            if r["name"] == "nic-vm6"
                && let Some(p) =
                    r["properties"]["ipConfigurations"][0]["properties"].as_object_mut()
            {
                p.remove("publicIPAddress");
            }
        }
    });
    let ns = rig.check().await;
    let mut cleared: Vec<(String, String)> = ns
        .iter()
        .map(|n| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&n["type"]), s(&n["data"]["finding"]))
        })
        .collect();
    cleared.sort();
    let resolved = |f: &str| ("estate.resolved".to_owned(), f.to_owned());
    assert_eq!(
        cleared,
        [resolved("door:network-path"), resolved("door:public-ip")],
        "{ns:#?}"
    );

    // A day later the just-in-time request has left the window read: it clears.
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("EstateCheck");
    inv["Metadata"]["sys"]["UtcNow"] = json!("2026-11-26T12:30:00.000Z");
    let (status, body) = rig.handler.invoke("EstateCheck", &inv).await;
    assert_eq!(status, 200, "{body}");
    let ns = notifications(&body);
    assert_eq!(ns.len(), 1, "{ns:#?}");
    assert_eq!(ns[0]["type"], "estate.resolved");
    assert_eq!(ns[0]["data"]["finding"], "door:jit");
}

/// A just-in-time request the Activity log shows without a body, whose policy the app may not
/// read (403): the subscription's `check-failed:jit-policy` names the role, no door is made up
/// or cleared; once readable, the door opens and the failure clears; unreadable again, the open
/// door keeps its state.
#[tokio::test]
async fn an_unreadable_jit_policy_is_a_finding_naming_the_role_and_keeps_the_door() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
    assert_eq!(rig.check().await, Vec::<Value>::new(), "clean");

    let policy = "jitnetworkaccesspolicies/default";
    rig.arm.with(|e| e.forbid.push(policy.to_owned()));
    jit(&logs, "grace@contoso.com", None, "j9");
    let ns = rig.check().await;
    assert_eq!(ns.len(), 1, "{ns:#?}");
    let failed = &ns[0]["data"];
    assert_eq!(
        (
            &ns[0]["type"],
            &failed["finding"],
            &failed["findingSeverity"]
        ),
        (
            &json!("estate.finding"),
            &json!("check-failed:jit-policy"),
            &json!("high")
        ),
        "{ns:#?}"
    );
    assert_eq!(failed["bastionHost"], SUB);
    let evidence = failed["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.contains("Reader") && evidence.contains("jitnetworkaccesspolicies/default"),
        "{evidence}"
    );

    // Readable: the policy's request names vm7 and a source outside the Bastion subnet.
    rig.arm.with(|e| {
        e.forbid.retain(|f| f != policy);
        e.network.push(jit_policy(
            "rg-app",
            &vm("vm7"),
            "grace@contoso.com",
            "203.0.113.7",
            "2026-11-25T11:40:01.5691611Z",
        ));
    });
    let ns = rig.check().await;
    let mut got: Vec<(String, String)> = ns
        .iter()
        .map(|n| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&n["type"]), s(&n["data"]["finding"]))
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("estate.finding".to_owned(), "door:jit".to_owned()),
            (
                "estate.resolved".to_owned(),
                "check-failed:jit-policy".to_owned()
            ),
        ],
        "{ns:#?}"
    );

    // Unreadable again: the failure opens again and the door stays open (not resolved).
    rig.arm.with(|e| e.forbid.push(policy.to_owned()));
    let ns = rig.check().await;
    assert_eq!(finding(&ns, "check-failed:jit-policy").len(), 1, "{ns:#?}");
    assert!(finding(&ns, "door:jit").is_empty(), "{ns:#?}");
}

/// The policy read under Resource Manager's faults: a 429 is waited out (`Retry-After`) and the
/// read succeeds in the same check, so the door is found and no failure said; a provider that
/// keeps timing out (504 `GatewayTimeout`) is `check-failed:jit-policy` at `info` (shown, not
/// announced: the next check reads again) and the door found before stays open.
#[tokio::test]
async fn a_jit_policy_read_throttled_is_waited_out_and_timing_out_is_said_as_info() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
    assert_eq!(rig.check().await, Vec::<Value>::new(), "clean");
    let policy = "jitnetworkaccesspolicies/default";
    rig.arm.with(|e| {
        e.network.push(jit_policy(
            "rg-app",
            &vm("vm7"),
            "heidi@contoso.com",
            "203.0.113.8",
            "2026-11-25T11:40:01.5691611Z",
        ));
        e.faults_under.push((policy.to_owned(), 429, 1));
    });
    jit(&logs, "heidi@contoso.com", None, "j11");
    let ns = rig.check().await;
    let codes: Vec<&Value> = ns.iter().map(|n| &n["data"]["finding"]).collect();
    assert_eq!(codes, [&json!("door:jit")], "{ns:#?}");
    assert_eq!(rig.arm.with(|e| e.faulted), 1, "the 429 was answered");

    rig.arm
        .with(|e| e.faults_under.push((policy.to_owned(), 504, 50)));
    jit(&logs, "heidi@contoso.com", None, "j12");
    assert_eq!(
        rig.check().await,
        Vec::<Value>::new(),
        "an info finding is not announced, the door not resolved"
    );
    assert!(rig.arm.with(|e| e.faulted) > 1, "the 504s were answered");
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let failed = items
        .iter()
        .find(|i| i["finding"] == "check-failed:jit-policy")
        .unwrap_or_else(|| panic!("the timed-out read said: {items:#?}"));
    assert_eq!(failed["severity"], "info", "{failed:#?}");
    let evidence = failed["evidence"].as_str().unwrap_or_default();
    assert!(
        (evidence.contains("504") || evidence.contains("timed out"))
            && evidence.contains("the next check reads it again"),
        "{evidence}"
    );
    assert!(
        items.iter().any(|i| i["finding"] == "door:jit"),
        "the door stays open: {items:#?}"
    );
}
