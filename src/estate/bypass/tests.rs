use serde_json::{Value, json};
use time::macros::datetime;

use super::doors::{Door, door_of, evaluate};
use super::*;
use crate::activity::events::{self, ActivityRow, Event, Outcome, fold};
use crate::activity::jit;
use crate::testkit::loganalytics::FakeLogs;
use crate::testkit::loganalytics::activity as fake_activity;

const HOST: &str =
    "/subscriptions/s0/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bas1";
const VM: &str =
    "/subscriptions/s1/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1";
const WS: &str = "ws-activity";

fn vm() -> String {
    VM.to_ascii_lowercase()
}

fn row(op: &str, status: &str, correlation: &str, at: time::OffsetDateTime) -> ActivityRow {
    ActivityRow {
        at,
        operation: op.to_ascii_lowercase(),
        status: status.into(),
        caller: if status == "Start" {
            "alice@contoso.com".into()
        } else {
            String::new()
        },
        caller_ip: "203.0.113.7".into(),
        resource: vm(),
        subscription: "s1".into(),
        correlation: correlation.into(),
        properties: Value::Null,
    }
}

/// A `Failure` row's `Properties_d` carrying `error` as its status message (JSON text, as the
/// Activity log writes it), with `Conflict` as the status code whatever the error.
fn failed(mut r: ActivityRow, error: Value) -> ActivityRow {
    r.properties = json!({"statusCode": "Conflict",
        "statusMessage": json!({"status": "Failed", "error": error}).to_string()});
    r
}

#[test]
fn a_start_and_its_result_are_one_event_and_only_a_refused_request_is_an_attempt() {
    let t = datetime!(2025-03-14 09:00 UTC);
    let m = |n: i64| t + time::Duration::minutes(n);
    let refused = json!({"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachines/runCommand/action'"});
    let ran = json!({"code": "VMExtensionProvisioningError", "message": "Enable failed: script exited with status 1"});
    let rows = [
        row(events::RUN_COMMAND, "Start", "c1", t),
        row(events::RUN_COMMAND, "Start", "c2", t),
        row(events::RUN_COMMAND, "Success", "c1", m(3)),
        failed(row(events::RUN_COMMAND, "Failure", "c2", m(1)), refused),
        row(events::SERIAL_CONNECT, "Start", "c3", t),
        row(events::RUN_COMMAND, "Start", "c4", t),
        failed(row(events::RUN_COMMAND, "Failed", "c4", m(2)), ran),
        // A failure whose row names no error: it cannot tell, so it is a use.
        row(events::SERIAL_CONNECT, "Failure", "c5", m(4)),
    ];
    let events = fold(&rows);
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[0].outcome, Outcome::Succeeded);
    assert_eq!(
        events[0].caller, "alice@contoso.com",
        "the Start row names the caller"
    );
    assert_eq!(events[0].at, t);
    assert_eq!(events[1].outcome, Outcome::Failed);
    assert_eq!(events[2].outcome, Outcome::Started);
    assert_eq!(events[3].outcome, Outcome::FailedAfterStart);
    assert_eq!(events[4].outcome, Outcome::FailedAfterStart);
    let vms = [vm()].into();
    let ev = &evaluate(&vms, &events[..2], None, &[])[&vm()];
    let codes: Vec<&str> = ev.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["door:run-command", "attempt:run-command"]);
    assert!(
        ev.findings[0]
            .evidence
            .contains("alice@contoso.com from 203.0.113.7")
    );
    assert_eq!(ev.findings[1].level, crate::estate::findings::Level::Info);
    assert!(ev.findings[1].evidence.contains("AuthorizationFailed"));
    // Only the refused one: an attempt, no door used.
    let ev = &evaluate(&vms, &events[1..2], None, &[])[&vm()];
    let codes: Vec<&str> = ev.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["attempt:run-command"]);
    assert!(
        ev.assessed.contains("door:run-command"),
        "so an open door clears"
    );
    // A Run Command whose script failed is a use, at the door's level, with the failure's text.
    let ev = &evaluate(&vms, &events[3..], None, &[])[&vm()];
    let codes: Vec<&str> = ev.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["door:run-command", "door:serial-console"]);
    assert_eq!(ev.findings[0].level, crate::estate::findings::Level::High);
    let said = &ev.findings[0].evidence;
    assert!(
        said.contains("failed after it started")
            && said.contains(
                "VMExtensionProvisioningError: Enable failed: script exited with status 1"
            ),
        "{said}"
    );
    assert!(ev.findings[1].evidence.contains("the row names no error"));
}

#[test]
fn every_extension_is_a_door_unless_its_body_names_an_allowed_one_and_a_serial_port_is_its_vms() {
    let t = datetime!(2025-03-14 09:00 UTC);
    let ext = |name: &str, body: Value| {
        let mut r = row(events::EXTENSION_WRITE, "Success", "c", t);
        r.resource = format!("{}/extensions/{name}", vm());
        r.properties = body;
        fold(&[r]).remove(0)
    };
    let body = |p: &str, t: &str| json!({"requestbody": json!({"properties": {"publisher": p, "type": t}}).to_string()});
    let allow = EstateSettings::of_hosts(vec![]).extension_allow;
    let vms = [vm()].into();
    let doors = |e: Event| {
        let ev = &evaluate(&vms, &[e], None, &allow)[&vm()];
        ev.findings
            .iter()
            .map(|f| f.code.clone())
            .collect::<Vec<_>>()
    };
    for (name, b) in [
        (
            "reset",
            body("Microsoft.OSTCExtensions", "VMAccessForLinux"),
        ),
        ("CustomScriptExtension", Value::Null),
        ("run", body("Microsoft.CPlat.Core", "RunCommandLinux")),
        ("dsc", body("Microsoft.Powershell", "DSC")),
        (
            "login",
            body("Microsoft.Azure.ActiveDirectory", "AADSSHLoginForLinux"),
        ),
        (
            "worker",
            body(
                "Microsoft.Azure.Automation.HybridWorker",
                "HybridWorkerForWindows",
            ),
        ),
        ("ssh", body("Microsoft.Azure.OpenSSH", "WindowsOpenSSH")),
        // A CustomScript named like an agent, and an agent's name without a body.
        (
            "AzureMonitorLinuxAgent",
            body("Microsoft.Azure.Extensions", "CustomScript"),
        ),
        ("AzureMonitorLinuxAgent", Value::Null),
    ] {
        let e = ext(name, b.clone());
        assert_eq!(door_of(&e), Some((Door::Extension, vm())));
        assert_eq!(doors(e), ["door:vm-extension"], "{name} {b}");
    }
    let agent = ext(
        "AMA",
        body("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent"),
    );
    assert_eq!(
        doors(agent),
        Vec::<String>::new(),
        "an allowed agent is no door"
    );
    let mut serial = row(events::SERIAL_CONNECT, "Success", "s", t);
    serial.resource = format!("{}/providers/microsoft.serialconsole/serialports/0", vm());
    assert_eq!(
        door_of(&fold(&[serial]).remove(0)),
        Some((Door::SerialConsole, vm()))
    );
}

#[test]
fn a_scope_covers_its_vms_only() {
    let w = doors::Watched {
        vms: [vm()].into(),
        scopes: vec!["/subscriptions/s2/resourcegroups/rg".into()],
    };
    assert!(w.covers(&vm()));
    assert!(w.covers(
        "/subscriptions/s2/resourcegroups/rg/providers/microsoft.compute/virtualmachines/x"
    ));
    assert!(!w.covers(
        "/subscriptions/s2/resourcegroups/rg2/providers/microsoft.compute/virtualmachines/x"
    ));
    assert_eq!(w.subscriptions(), ["s1".to_owned(), "s2".to_owned()].into());
}

fn activity(
    logs: &FakeLogs,
    op: &str,
    status: &str,
    correlation: &str,
    caller: &str,
    at: time::OffsetDateTime,
) {
    let values = json!({
        "TimeGenerated": crate::dates::format_utc(at), "OperationNameValue": op.to_ascii_uppercase(),
        "ActivityStatusValue": status, "Caller": caller, "CallerIpAddress": "198.51.100.4",
        "_ResourceId": VM, "ResourceId": VM.to_ascii_uppercase(), "SubscriptionId": "s1",
        "CorrelationId": correlation, "Properties_d": {"statusCode": "Created"},
    });
    // A failure here is a request refused before anything ran (an attempt).
    let mut values = values;
    if status == "Failure" {
        values["Properties_d"] = json!({"statusCode": "Forbidden", "statusMessage": json!({"error":
            {"code": "AuthorizationFailed", "message": "The client does not have authorization"}}).to_string()});
    }
    let values = values.as_object().cloned().unwrap_or_default();
    logs.ingest(
        WS,
        fake_activity::row(values, datetime!(2025-01-01 00:00 UTC)),
    );
}

fn settings() -> EstateSettings {
    EstateSettings {
        bypass_scopes: vec!["/subscriptions/s3".into()],
        ..EstateSettings::of_hosts(vec![HOST.to_owned()])
    }
}

async fn session(ports: &Ports, start: time::OffsetDateTime) {
    session_on(ports, start, "bas1", VM).await;
}

async fn session_on(ports: &Ports, start: time::OffsetDateTime, host: &str, vm: &str) {
    let mut s = crate::catalogue::session::SessionRecord::new("t1");
    s.session_start = Some(start);
    s.outcome = "connected".into();
    s.bastion_host = host.into();
    s.target_resource_id = vm.into();
    crate::catalogue::days::insert_new(ports.tables.as_ref(), &ports.outbox, &s, start, None)
        .await
        .expect("day row");
}

#[tokio::test]
async fn a_run_command_raises_one_finding_naming_its_caller_once_and_clears_a_day_later() {
    let ports = crate::testkit::fakes().state.ports;
    let now = datetime!(2025-03-14 10:00 UTC);
    session(&ports, now - time::Duration::days(30)).await;
    let logs = FakeLogs::default();
    let t = now - time::Duration::hours(1);
    activity(
        &logs,
        events::RUN_COMMAND,
        "Start",
        "c1",
        "alice@contoso.com",
        t,
    );
    activity(
        &logs,
        events::RUN_COMMAND,
        "Success",
        "c1",
        "",
        t + time::Duration::minutes(2),
    );
    activity(
        &logs,
        events::RUN_COMMAND,
        "Start",
        "c2",
        "bob@contoso.com",
        t,
    );
    activity(&logs, events::RUN_COMMAND, "Failure", "c2", "", t);
    let ws = [WS.to_owned()];
    let s = settings();
    // Two instances at once: one announces.
    let (a, b) = tokio::join!(
        run(&ports, Some(&logs), None, &s, &ws, now),
        run(&ports, Some(&logs), None, &s, &ws, now)
    );
    assert!(
        a.failed.is_empty() && b.failed.is_empty(),
        "{:?} {:?}",
        a.failed,
        b.failed
    );
    let sent: Vec<_> = a.findings.iter().chain(&b.findings).collect();
    let doors: Vec<_> = sent
        .iter()
        .filter(|n| n.evidence["finding"] == "door:run-command")
        .collect();
    assert_eq!(doors.len(), 1, "{sent:?}");
    assert!(
        doors[0].evidence["evidence"]
            .as_str()
            .unwrap_or_default()
            .contains("alice@contoso.com")
    );
    // s3 (a scope) sends nothing to the workspace: its Activity log is not read.
    let silent: Vec<_> = sent
        .iter()
        .filter(|n| n.evidence["finding"] == "activity-log-not-read")
        .collect();
    assert_eq!(silent.len(), 1, "{sent:?}");
    assert_eq!(silent[0].evidence["bastionHost"], "s3");
    assert_eq!(
        sent.len(),
        2,
        "the failed run is an attempt, shown and not announced: {sent:?}"
    );
    let rows = store::list(ports.tables.as_ref()).await.expect("rows").rows;
    let open = |code: &str| rows.iter().any(|r| r.finding == code && r.status == "open");
    assert!(open("door:run-command") && open("attempt:run-command"));
    // The next tick: nothing new.
    let again = run(
        &ports,
        Some(&logs),
        None,
        &s,
        &ws,
        now + time::Duration::minutes(15),
    )
    .await;
    assert!(again.findings.is_empty(), "{:?}", again.findings);
    // A day later the use has left the window: the door clears, once.
    let later = now + time::Duration::hours(26);
    activity(
        &logs,
        "Microsoft.Compute/virtualMachines/read",
        "Success",
        "c9",
        "x",
        later - time::Duration::hours(1),
    );
    let cleared = run(&ports, Some(&logs), None, &s, &ws, later).await;
    let kinds: Vec<(&str, &Value)> = cleared
        .findings
        .iter()
        .map(|n| (n.kind.name, &n.evidence["finding"]))
        .collect();
    assert_eq!(
        kinds,
        [(
            crate::spine::kinds::ESTATE_RESOLVED.name,
            &json!("door:run-command")
        )],
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_failed_read_keeps_the_doors_and_names_the_workspace_role() {
    let ports = crate::testkit::fakes().state.ports;
    let now = datetime!(2025-03-14 10:00 UTC);
    session(&ports, now - time::Duration::days(1)).await;
    let logs = FakeLogs::default();
    activity(
        &logs,
        events::SERIAL_CONNECT,
        "Success",
        "c1",
        "carol@contoso.com",
        now - time::Duration::hours(2),
    );
    let ws = [WS.to_owned()];
    let s = settings();
    let first = run(&ports, Some(&logs), None, &s, &ws, now).await;
    assert!(
        first
            .findings
            .iter()
            .any(|n| n.evidence["finding"] == "door:serial-console")
    );
    logs.forbid(WS, true);
    let failed = run(
        &ports,
        Some(&logs),
        None,
        &s,
        &ws,
        now + time::Duration::hours(30),
    )
    .await;
    let codes: Vec<&Value> = failed
        .findings
        .iter()
        .map(|n| &n.evidence["finding"])
        .collect();
    assert!(
        codes.iter().all(|c| *c == "check-failed:activity-log"),
        "{codes:?}"
    );
    let rows = store::list(ports.tables.as_ref()).await.expect("rows").rows;
    assert!(
        rows.iter()
            .any(|r| r.finding == "door:serial-console" && r.status == "open")
    );
    assert!(
        rows.iter().any(|r| r.finding == "check-failed:activity-log"
            && r.evidence.contains("Log Analytics Reader"))
    );
}

/// An unread just-in-time policy: high on a 403 (its role named), `info` when the next check
/// reads again (still throttled after the retries, the service's timeout), medium otherwise; the
/// VMs of its subscription keep their just-in-time door unless this pass found it open.
#[test]
fn an_unread_policy_is_high_on_403_info_when_worth_retrying_and_keeps_the_door() {
    use crate::azure::AzureError;
    use crate::estate::findings::{Finding, Level};
    let policy = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.security/locations/westeurope/jitnetworkaccesspolicies/default";
    let level = |error: AzureError| {
        let ev = doors::policy_failed(
            &jit::Unread {
                policy: policy.into(),
                error,
            },
            datetime!(2026-11-25 12:00 UTC),
        );
        assert!(ev.assessed.contains(doors::JIT_FAILED));
        assert!(ev.findings[0].evidence.contains(policy), "{ev:?}");
        (ev.findings[0].level, ev.findings[0].evidence.clone())
    };
    let (high, said) = level(AzureError::Forbidden {
        role: "Reader (Microsoft.Security/locations/jitNetworkAccessPolicies/read)".into(),
    });
    assert_eq!(high, Level::High);
    assert!(said.contains("Reader"), "{said}");
    let throttled = AzureError::Throttled { retry_after: None };
    assert_eq!(level(throttled).0, Level::Info);
    let timeout = AzureError::ServerTimeout {
        code: "GatewayTimeout".into(),
    };
    assert_eq!(level(timeout).0, Level::Info);
    assert_eq!(level(AzureError::NotFound).0, Level::Medium);

    let decided = |open: bool| {
        let mut ev = Evaluation::default();
        ev.assessed.extend([
            Door::Jit.code(),
            Door::Jit.attempt(),
            Door::RunCommand.code(),
        ]);
        if open {
            ev.findings.push(Finding {
                code: Door::Jit.code(),
                level: Level::High,
                evidence: String::new(),
            });
        }
        doors::keep_jit(&mut ev);
        ev.assessed
    };
    let kept = decided(false);
    assert!(!kept.contains(&Door::Jit.code()) && !kept.contains(&Door::Jit.attempt()));
    assert!(
        kept.contains(&Door::RunCommand.code()),
        "other doors still decided"
    );
    assert!(
        decided(true).contains(&Door::Jit.code()),
        "a door seen open is decided"
    );
}

/// Through `run`: a NIC list Resource Manager refuses (403) is a `check-failed:network` finding
/// on the watched VM it leaves undecided, naming the role, announced once and resolved when the
/// list is read; what was remembered of a VM no longer watched is removed.
#[tokio::test]
async fn a_refused_network_read_is_a_finding_until_read_and_an_unwatched_vms_nics_go() {
    let ports = crate::testkit::fakes().state.ports;
    let tables = ports.tables.as_ref();
    let now = datetime!(2025-03-14 10:00 UTC);
    let fake = crate::testkit::arm::Fake::groups_only(1);
    let vm0 = fake.vm(0);
    session_on(&ports, now - time::Duration::days(1), "b1", &vm0).await;
    let s = EstateSettings::of_hosts(vec![crate::testkit::arm::HOST.to_owned()]);
    let old =
        "/subscriptions/s9/resourcegroups/rg-x/providers/microsoft.compute/virtualmachines/old";
    for vm in [old, vm0.as_str()] {
        let r = store::nics::Remembered {
            vm: vm.to_owned(),
            nics: Vec::new(),
            read_at: Some(now - time::Duration::hours(1)),
            tried_at: now - time::Duration::hours(1),
        };
        store::put(tables, store::nics::entity(&r))
            .await
            .expect("remembered");
    }
    fake.refused
        .lock()
        .expect("refused")
        .push("/subscriptions/s1/resourcegroups/rg-0".to_owned());
    let arm: Arc<dyn ResourceManager> = Arc::new(fake.clone());
    let first = run(&ports, None, Some(&arm), &s, &[], now).await;
    let said: Vec<&Value> = first
        .findings
        .iter()
        .filter(|n| n.evidence["finding"] == netdoors::NETWORK_FAILED)
        .map(|n| &n.evidence)
        .collect();
    assert_eq!(said.len(), 1, "{:?}", first.findings);
    let rows = store::list(tables).await.expect("rows").rows;
    let row = rows
        .iter()
        .find(|r| r.finding == netdoors::NETWORK_FAILED)
        .expect("the finding stored");
    assert_eq!(
        (row.host.as_str(), row.status.as_str()),
        (vm0.as_str(), "open")
    );
    assert!(
        row.evidence.contains("missing role Reader on"),
        "{}",
        row.evidence
    );
    let remembered = store::nics::remembered(tables).await.expect("remembered");
    assert_eq!(
        remembered.keys().collect::<Vec<_>>(),
        [&vm0],
        "the VM no longer watched forgotten, the watched one kept"
    );

    // Again refused: nothing new announced. Then granted: resolved, once.
    let again = run(
        &ports,
        None,
        Some(&arm),
        &s,
        &[],
        now + time::Duration::minutes(10),
    )
    .await;
    assert!(again.findings.is_empty(), "{:?}", again.findings);
    fake.refused.lock().expect("refused").clear();
    let read = run(
        &ports,
        None,
        Some(&arm),
        &s,
        &[],
        now + time::Duration::minutes(20),
    )
    .await;
    let resolved: Vec<&Value> = read.findings.iter().map(|n| &n.evidence).collect();
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["finding"], netdoors::NETWORK_FAILED);
    let rows = store::list(tables).await.expect("rows").rows;
    assert!(
        rows.iter()
            .all(|r| r.finding != netdoors::NETWORK_FAILED || r.status != "open"),
        "{rows:?}"
    );
}
