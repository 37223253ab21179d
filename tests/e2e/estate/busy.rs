//! The Activity log as a busy estate writes it, end to end through the real handler's
//! `EstateCheck`: a workspace of 20,000 `AzureActivity` rows a day across 50 subscriptions is read
//! to its end (filtered in the query to the watched subscription, paged), so a Run Command behind
//! 5,200 older VM writes is raised and nothing says the read was cut; and a subscription whose
//! diagnostic setting is removed is `activity-log-not-read` at the next check, its doors unknown
//! (an open door never clears while so), and a refused settings read names the role.

use serde_json::{Value, json};

use super::doors::{activity, check_at, ingest, scoped_rig, vm};
use super::fake_arm::SUB;
use crate::harness::azurite;

const RUN: &str = "Microsoft.Compute/virtualMachines/runCommand/action";
const VM_WRITE: &str = "Microsoft.Compute/virtualMachines/write";

/// vm1's resource id as the findings name it.
fn vm1() -> String {
    vm("vm1").to_ascii_lowercase()
}

fn seen(kind: &str, finding: &str, host: &str) -> (String, String, String) {
    (kind.into(), finding.into(), host.into())
}

/// The 49 other subscriptions' ids.
fn other(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-00000000beef")
}

/// Row `n` of the busy day in subscription `sub`: `op` at `at`, a `Start`/`Success` pair's row,
/// with no request body.
fn busy_row(sub: &str, op: &str, status: &str, n: usize, at: time::OffsetDateTime) -> Value {
    let resource = format!(
        "/subscriptions/{sub}/resourcegroups/rg-{}/providers/microsoft.compute/virtualmachines/vm-{}",
        n % 7,
        n % 40
    );
    json!({"TimeGenerated": bastion_recordings::dates::format_utc_millis(at),
        "OperationNameValue": op.to_ascii_uppercase(), "ActivityStatusValue": status,
        "ActivitySubstatusValue": if status == "Success" { "OK" } else { "" },
        "Caller": "automation@contoso.com", "CallerIpAddress": "203.0.113.50",
        "_ResourceId": resource, "ResourceId": resource.to_ascii_uppercase(),
        "SubscriptionId": sub, "CorrelationId": format!("busy-{n}"), "Category": "Administrative",
        "Properties_d": {"statusCode": "OK", "eventCategory": "Administrative"}})
}

#[tokio::test]
async fn a_busy_workspace_is_read_to_its_end_and_a_run_command_behind_5200_vm_writes_is_raised() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
    let day = time::macros::datetime!(2026-11-24 13:00 UTC);
    // 5,200 VM writes in the watched subscription, all older than the Run Command.
    let step = time::Duration::seconds(6);
    for n in 0..5200 {
        let at = day + step * i32::try_from(n).unwrap_or(0);
        let mut r = busy_row(SUB, VM_WRITE, "Success", n, at);
        r["_ResourceId"] = json!(vm("vm-busy").to_ascii_lowercase());
        ingest(&logs, r);
    }
    // 14,798 rows of 49 other subscriptions over the same day: VM writes, and door operations
    // on VMs this app does not watch.
    for n in 0..14_798 {
        let sub = other(n % 49);
        let op = [
            VM_WRITE,
            RUN,
            "Microsoft.Compute/virtualMachines/extensions/write",
        ][n % 3];
        let status = if n % 2 == 0 { "Start" } else { "Success" };
        let at = day + time::Duration::seconds(i64::try_from(n).unwrap_or(0) * 5 / 2);
        ingest(&logs, busy_row(&sub, op, status, n, at));
    }
    // The Run Command on a watched VM, after every one of them.
    activity(
        &logs,
        (RUN, "Start", "late-run"),
        "mallory@contoso.com",
        &vm("vm1"),
        "2026-11-25T11:50:00Z",
    );
    activity(
        &logs,
        (RUN, "Success", "late-run"),
        "",
        &vm("vm1"),
        "2026-11-25T11:52:00Z",
    );
    let asked = logs.received().len();
    let ns = check_at(&mut rig, "2026-11-25T12:00:00.000Z").await;
    assert_eq!(
        ns,
        [seen("estate.finding", "door:run-command", &vm1())],
        "{ns:#?}"
    );
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    assert!(
        !items
            .iter()
            .any(|i| i["finding"] == "check-failed:activity-log"),
        "the whole day was read: {items:#?}"
    );
    let door = items
        .iter()
        .find(|i| i["finding"] == "door:run-command")
        .expect("the door is listed");
    assert!(
        door["evidence"]
            .as_str()
            .unwrap_or_default()
            .contains("mallory@contoso.com")
    );
    // The door rows were asked for in pages, filtered to the watched subscription.
    let queries: Vec<_> = logs.received()[asked..]
        .iter()
        .filter(|q| q.query.contains("OperationNameValue in~"))
        .cloned()
        .collect();
    assert!(queries.len() >= 2, "paged: {} queries", queries.len());
    assert!(
        queries
            .iter()
            .all(|q| q.query.contains(&format!("SubscriptionId in~ (\"{SUB}\")"))),
        "{}",
        queries[0].query
    );
}

#[tokio::test]
async fn an_activity_log_setting_removed_is_seen_within_one_check_and_its_doors_stay_unknown() {
    let Some(cs) = azurite() else { return };
    let (logs, mut rig) = scoped_rig(&cs).await;
    assert_eq!(check_at(&mut rig, "2026-11-25T12:00:00.000Z").await, []);
    activity(
        &logs,
        (RUN, "Success", "r1"),
        "alice@contoso.com",
        &vm("vm1"),
        "2026-11-25T11:58:00Z",
    );
    assert_eq!(
        check_at(&mut rig, "2026-11-25T12:15:00.000Z").await,
        [seen("estate.finding", "door:run-command", &vm1())]
    );
    // The subscription's setting is removed: the next check says so, and the door stays open.
    let setting = format!("/subscriptions/{SUB}");
    let removed = rig
        .arm
        .with(|e| e.diagnostics.remove(&setting))
        .expect("the setting");
    let sub = format!("/subscriptions/{SUB}");
    assert_eq!(
        check_at(&mut rig, "2026-11-25T12:30:00.000Z").await,
        [seen("estate.finding", "activity-log-not-read", &sub)]
    );
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let not_read = items
        .iter()
        .find(|i| i["finding"] == "activity-log-not-read")
        .expect("listed");
    let evidence = not_read["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.contains("no diagnostic setting") && evidence.contains("unknown"),
        "{evidence}"
    );
    // A day later the use has left the window; the doors are unknown, so nothing clears.
    assert_eq!(check_at(&mut rig, "2026-11-26T12:45:00.000Z").await, []);
    // The setting back, its read refused: the role is named; still nothing clears.
    rig.arm.with(|e| {
        e.diagnostics.insert(setting.clone(), removed.clone());
        e.forbid = vec![format!(
            "{setting}/providers/Microsoft.Insights/diagnosticSettings"
        )];
    });
    assert_eq!(
        check_at(&mut rig, "2026-11-26T13:00:00.000Z").await,
        [
            seen("estate.finding", "check-failed:activity-log", &sub),
            seen("estate.resolved", "activity-log-not-read", &sub)
        ]
    );
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let failed = items
        .iter()
        .find(|i| i["finding"] == "check-failed:activity-log")
        .expect("listed");
    assert_eq!(failed["severity"], "high");
    let evidence = failed["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("Monitoring Reader"), "{evidence}");
    // Read again: the log is known to flow, the door that left the window clears.
    rig.arm.with(|e| e.forbid.clear());
    assert_eq!(
        check_at(&mut rig, "2026-11-26T13:15:00.000Z").await,
        [
            seen("estate.resolved", "check-failed:activity-log", &sub),
            seen("estate.resolved", "door:run-command", &vm1())
        ]
    );
}
