//! Other doors onto the watched VMs, end to end: the real handler's `EstateCheck` reads
//! `AzureActivity` from the loopback Logs Query fake (rows in the table reference's columns) and
//! raises one finding per door and VM naming its caller within one tick; a clean estate raises
//! none; a failed Run Command is an attempt (shown, not announced); a use older than a day clears.

use bastion_recordings::loganalytics::testing::activity;
use bastion_recordings::loganalytics::testing::{FakeLogs, serve};
use serde_json::{Value, json};

use super::fake_arm::SUB;
use super::{Rig, notifications};
use crate::harness::{azurite, fixture};

/// The workspace the handler reads (customer id).
pub(crate) const CUSTOMER: &str = "a1b2c3d4-0000-4000-8000-0000000000d1";

/// A VM of the rig's subscription.
pub(crate) fn vm(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/{name}"
    )
}

/// Ingests one `AzureActivity` row (`resource` under `_ResourceId`, upper-case operation as the
/// service writes it) generated at `at`.
pub(crate) fn activity(
    logs: &FakeLogs,
    (op, status, correlation): (&str, &str, &str),
    caller: &str,
    resource: &str,
    at: &str,
) {
    let values = json!({"TimeGenerated": at, "OperationNameValue": op.to_ascii_uppercase(),
        "ActivityStatusValue": status, "Caller": caller, "CallerIpAddress": "198.51.100.4",
        "_ResourceId": resource.to_ascii_lowercase(), "ResourceId": resource.to_ascii_uppercase(),
        "SubscriptionId": SUB, "CorrelationId": correlation, "Category": "Administrative",
        "Properties_d": {"statusCode": "OK", "eventCategory": "Administrative"}});
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let values = values.as_object().cloned().unwrap_or_default();
    logs.ingest(CUSTOMER, activity::row(values, visible));
}

/// A served Logs Query fake whose workspace holds one quiet row of the rig's subscription (its
/// Activity log is read, no door in it), and the settings that make the handler read it.
pub(crate) async fn quiet_workspace() -> (FakeLogs, [(&'static str, String); 2]) {
    let logs = FakeLogs::default();
    let op = ("Microsoft.Compute/virtualMachines/write", "Success", "q1");
    activity(
        &logs,
        op,
        "ops@contoso.com",
        &vm("vm-e2e"),
        "2026-11-25T07:00:00Z",
    );
    let url = serve(logs.clone()).await.expect("serve the fake");
    let env = [
        ("AUDITLOGS_WORKSPACES", CUSTOMER.to_owned()),
        ("LOGANALYTICS_ENDPOINT", url),
    ];
    (logs, env)
}

fn by_finding<'a>(ns: &'a [Value], finding: &str) -> Vec<&'a Value> {
    ns.iter()
        .filter(|n| n["data"]["finding"] == finding)
        .collect()
}

#[tokio::test]
async fn each_door_raises_one_finding_naming_its_actor_and_clears_a_day_later() {
    let Some(cs) = azurite() else { return };
    let (logs, env) = quiet_workspace().await;
    let scope = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("BYPASS_SCOPES", &scope));
    let mut rig = Rig::new(&cs, &extra).await;
    // A clean estate: the subscription's Activity log is read, no door is used.
    assert_eq!(
        rig.check().await,
        Vec::<Value>::new(),
        "a clean estate raises none"
    );

    let at = "2026-11-25T11:30:00Z";
    let run = "Microsoft.Compute/virtualMachines/runCommand/action";
    activity(
        &logs,
        (run, "Start", "c1"),
        "alice@contoso.com",
        &vm("vm1"),
        at,
    );
    activity(
        &logs,
        (run, "Success", "c1"),
        "",
        &vm("vm1"),
        "2026-11-25T11:32:00Z",
    );
    let serial = format!(
        "{}/providers/Microsoft.SerialConsole/serialPorts/0",
        vm("vm2")
    );
    let connect = "Microsoft.SerialConsole/serialPorts/connect/action";
    activity(
        &logs,
        (connect, "Success", "c2"),
        "bob@contoso.com",
        &serial,
        at,
    );
    let ext = format!("{}/extensions/CustomScriptExtension", vm("vm3"));
    let write = "Microsoft.Compute/virtualMachines/extensions/write";
    activity(&logs, (write, "Start", "c3"), "carol@contoso.com", &ext, at);
    activity(
        &logs,
        (run, "Start", "c4"),
        "dave@contoso.com",
        &vm("vm4"),
        at,
    );
    activity(
        &logs,
        (run, "Failure", "c4"),
        "dave@contoso.com",
        &vm("vm4"),
        at,
    );
    let ns = rig.check().await;
    assert_eq!(
        ns.len(),
        3,
        "three doors, the failed run not announced: {ns:#?}"
    );
    for (finding, vm, who) in [
        ("door:run-command", "vm1", "alice@contoso.com"),
        ("door:serial-console", "vm2", "bob@contoso.com"),
        ("door:vm-extension", "vm3", "carol@contoso.com"),
    ] {
        let n = by_finding(&ns, finding);
        assert_eq!(n.len(), 1, "{finding}: {ns:#?}");
        assert_eq!(n[0]["type"], "estate.finding");
        assert_eq!(n[0]["data"]["bastionHost"], vm);
        assert_eq!(n[0]["data"]["findingSeverity"], "high");
        let evidence = n[0]["data"]["evidence"].as_str().unwrap_or_default();
        assert!(
            evidence.contains(who) && evidence.contains("198.51.100.4"),
            "{evidence}"
        );
    }
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let attempt = items
        .iter()
        .find(|i| i["finding"] == "attempt:run-command")
        .unwrap_or_else(|| panic!("the failed run is an attempt: {items:#?}"));
    assert_eq!(attempt["hostName"], "vm4");
    assert_eq!(attempt["severity"], "info");
    assert!(
        !items
            .iter()
            .any(|i| i["finding"] == "door:run-command" && i["hostName"] == "vm4")
    );
    // The next tick: the same episodes, nothing announced again.
    assert_eq!(rig.check().await, Vec::<Value>::new());

    // A day later the uses have left the window read: each door clears once.
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("EstateCheck");
    inv["Metadata"]["sys"]["UtcNow"] = json!("2026-11-26T12:30:00.000Z");
    let (status, body) = rig.handler.invoke("EstateCheck", &inv).await;
    assert_eq!(status, 200, "{body}");
    let ns = notifications(&body);
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
        [
            resolved("door:run-command"),
            resolved("door:serial-console"),
            resolved("door:vm-extension")
        ],
        "{ns:#?}"
    );
}
