//! Other doors onto the watched VMs, end to end: the real handler's `EstateCheck` reads
//! `AzureActivity` from the loopback Logs Query fake (rows in the table reference's columns) and
//! raises one finding per door and VM naming its caller within one tick; a clean estate raises
//! none; a Run Command Azure refused is an attempt (shown, not announced), a CustomScript whose
//! script failed after it started is a door used; any extension but an allowed agent is a door,
//! with or without a request body; a use older than a day clears. Module `busy`: a busy
//! workspace is read to its end, and an Activity log setting removed is seen within one check.

use bastion_testkit::loganalytics::activity;
use bastion_testkit::loganalytics::{FakeLogs, serve};
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
/// service writes it) generated at `at`, its `Properties_d` without a request body.
pub(crate) fn activity(
    logs: &FakeLogs,
    (op, status, correlation): (&str, &str, &str),
    caller: &str,
    resource: &str,
    at: &str,
) {
    let properties = json!({"statusCode": "OK", "eventCategory": "Administrative"});
    activity_with(
        logs,
        (op, status, correlation),
        caller,
        resource,
        at,
        properties,
    );
}

/// [`activity`] with `properties` as its `Properties_d`, in subscription [`SUB`].
pub(crate) fn activity_with(
    logs: &FakeLogs,
    (op, status, correlation): (&str, &str, &str),
    caller: &str,
    resource: &str,
    at: &str,
    properties: Value,
) {
    let values = json!({"TimeGenerated": at, "OperationNameValue": op.to_ascii_uppercase(),
        "ActivityStatusValue": status, "Caller": caller, "CallerIpAddress": "198.51.100.4",
        "_ResourceId": resource.to_ascii_lowercase(), "ResourceId": resource.to_ascii_uppercase(),
        "SubscriptionId": SUB, "CorrelationId": correlation, "Category": "Administrative",
        "Properties_d": properties});
    ingest(logs, values);
}

/// Ingests one `AzureActivity` row of `values`, visible to queries.
pub(crate) fn ingest(logs: &FakeLogs, values: Value) {
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let values = values.as_object().cloned().unwrap_or_default();
    logs.ingest(CUSTOMER, activity::row(values, visible));
}

/// A `Failure` row's `Properties_d`: `statusCode` (never what decides) and the failure's error as
/// its `statusMessage` (JSON text), as the Activity log writes them.
pub(crate) fn failure(status: &str, code: &str, message: &str) -> Value {
    let error = json!({"status": "Failed", "error": {"code": code, "message": message}});
    json!({"statusCode": status, "statusMessage": error.to_string(), "eventCategory": "Administrative"})
}

/// An extension write's `Properties_d` carrying its request body (JSON text).
pub(crate) fn extension_body(publisher: &str, kind: &str) -> Value {
    let body = json!({"location": "westeurope", "properties": {"publisher": publisher,
        "type": kind, "typeHandlerVersion": "1.0", "autoUpgradeMinorVersion": true}});
    json!({"statusCode": "Created", "eventCategory": "Administrative", "requestbody": body.to_string()})
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

/// A handler watching resource group `rg-app` of [`SUB`] (`BYPASS_SCOPES`), reading the quiet
/// workspace ([`quiet_workspace`]).
pub(crate) async fn scoped_rig(cs: &str) -> (FakeLogs, Rig) {
    let (logs, env) = quiet_workspace().await;
    let scope = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("BYPASS_SCOPES", &scope));
    (logs, Rig::new(cs, &extra).await)
}

/// One `EstateCheck` at `at`: its notifications as sorted `(type, finding, resource id)`.
pub(crate) async fn check_at(rig: &mut Rig, at: &str) -> Vec<(String, String, String)> {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("EstateCheck");
    inv["Metadata"]["sys"]["UtcNow"] = json!(at);
    let (status, body) = rig.handler.invoke("EstateCheck", &inv).await;
    assert_eq!(status, 200, "{body}\n{}", rig.handler.log_text());
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut out: Vec<_> = notifications(&body)
        .iter()
        .map(|n| {
            let d = &n["data"];
            (s(&n["type"]), s(&d["finding"]), s(&d["bastionHostId"]))
        })
        .collect();
    out.sort();
    out
}

fn by_finding<'a>(ns: &'a [Value], finding: &str) -> Vec<&'a Value> {
    ns.iter()
        .filter(|n| n["data"]["finding"] == finding)
        .collect()
}

#[tokio::test]
async fn each_door_raises_one_finding_naming_its_actor_and_clears_a_day_later() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
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
    // A CustomScript accepted, whose script then failed: a door used, with the failure's text.
    let ext = format!("{}/extensions/CustomScriptExtension", vm("vm3"));
    let write = "Microsoft.Compute/virtualMachines/extensions/write";
    activity(&logs, (write, "Start", "c3"), "carol@contoso.com", &ext, at);
    let script_failed = failure(
        "Conflict",
        "VMExtensionProvisioningError",
        "VM has reported a failure when processing extension 'CustomScriptExtension'. Error message: \"Command execution finished, but failed because it returned a non-zero exit code of: '1'\"",
    );
    let later = "2026-11-25T11:34:00Z";
    activity_with(
        &logs,
        (write, "Failure", "c3"),
        "",
        &ext,
        later,
        script_failed,
    );
    // A Run Command Azure refused before anything ran: an attempt.
    activity(
        &logs,
        (run, "Start", "c4"),
        "dave@contoso.com",
        &vm("vm4"),
        at,
    );
    let refused = failure(
        "Forbidden",
        "AuthorizationFailed",
        "The client 'dave@contoso.com' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/runCommand/action'",
    );
    activity_with(
        &logs,
        (run, "Failure", "c4"),
        "dave@contoso.com",
        &vm("vm4"),
        later,
        refused,
    );
    // RunCommandLinux under an agent's name: the body decides, a door. An agent the default
    // allows, by its body: no door. An agent's name with no body: unknown, a door.
    let named = |v: &str| format!("{}/extensions/AzureMonitorLinuxAgent", vm(v));
    let linux_run = extension_body("Microsoft.CPlat.Core", "RunCommandLinux");
    activity_with(
        &logs,
        (write, "Success", "c5"),
        "erin@contoso.com",
        &named("vm5"),
        at,
        linux_run,
    );
    let agent = extension_body("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent");
    activity_with(
        &logs,
        (write, "Success", "c6"),
        "ops@contoso.com",
        &named("vm6"),
        at,
        agent,
    );
    activity(
        &logs,
        (write, "Success", "c7"),
        "frank@contoso.com",
        &named("vm7"),
        at,
    );
    let ns = rig.check().await;
    assert_eq!(
        ns.len(),
        5,
        "five doors, the refused run not announced, the agent no door: {ns:#?}"
    );
    for (finding, vm, who) in [
        ("door:run-command", "vm1", "alice@contoso.com"),
        ("door:serial-console", "vm2", "bob@contoso.com"),
        ("door:vm-extension", "vm3", "carol@contoso.com"),
        ("door:vm-extension", "vm5", "erin@contoso.com"),
        ("door:vm-extension", "vm7", "frank@contoso.com"),
    ] {
        let n: Vec<_> = by_finding(&ns, finding)
            .into_iter()
            .filter(|n| n["data"]["bastionHost"] == vm)
            .collect();
        assert_eq!(n.len(), 1, "{finding} {vm}: {ns:#?}");
        assert_eq!(n[0]["type"], "estate.finding");
        assert_eq!(n[0]["data"]["findingSeverity"], "high");
        let evidence = n[0]["data"]["evidence"].as_str().unwrap_or_default();
        assert!(
            evidence.contains(who) && evidence.contains("198.51.100.4"),
            "{evidence}"
        );
    }
    let said = |vm: &str| {
        let n = ns.iter().find(|n| n["data"]["bastionHost"] == vm);
        n.and_then(|n| n["data"]["evidence"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        said("vm3").contains("failed after it started")
            && said("vm3").contains("VMExtensionProvisioningError"),
        "{}",
        said("vm3")
    );
    assert!(
        said("vm5").contains("microsoft.cplat.core/runcommandlinux"),
        "{}",
        said("vm5")
    );
    assert!(
        said("vm7").contains("publisher and type unknown"),
        "{}",
        said("vm7")
    );
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let attempt = items
        .iter()
        .find(|i| i["finding"] == "attempt:run-command")
        .unwrap_or_else(|| panic!("the failed run is an attempt: {items:#?}"));
    assert_eq!(attempt["hostName"], "vm4");
    assert_eq!(attempt["severity"], "info");
    let evidence = attempt["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("AuthorizationFailed"), "{evidence}");
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
            resolved("door:vm-extension"),
            resolved("door:vm-extension"),
            resolved("door:vm-extension")
        ],
        "{ns:#?}"
    );
}
