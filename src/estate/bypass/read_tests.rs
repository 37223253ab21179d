//! A read of the Activity log cut short: what it saw still opens a door, nothing clears, and the
//! subscription says so (`check-failed:activity-log`), never only a log line.

use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::activity::events::{self, RUN_COMMAND};
use crate::testkit::loganalytics::FakeLogs;
use crate::testkit::loganalytics::activity as fake_activity;

const WS: &str = "ws-busy";
const SUB: &str = "5a1b2c3d-0000-4000-8000-000000000001";

fn vm(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{name}"
    )
}

fn ingest(logs: &FakeLogs, op: &str, correlation: &str, resource: &str, at: OffsetDateTime) {
    let values = json!({
        "TimeGenerated": crate::dates::format_utc_millis(at), "OperationNameValue": op.to_ascii_uppercase(),
        "ActivityStatusValue": "Success", "Caller": "alice@contoso.com", "CallerIpAddress": "203.0.113.7",
        "_ResourceId": resource, "SubscriptionId": SUB, "CorrelationId": correlation,
        "Properties_d": {"statusCode": "OK"},
    });
    let values = values.as_object().cloned().unwrap_or_default();
    logs.ingest(
        WS,
        fake_activity::row(values, datetime!(2025-01-01 00:00 UTC)),
    );
}

#[tokio::test]
async fn a_read_cut_short_opens_what_it_saw_clears_nothing_and_is_a_finding() {
    let ports = crate::testkit::fakes().state.ports;
    let now = datetime!(2025-03-14 10:00 UTC);
    let settings = EstateSettings {
        bypass_scopes: vec![format!("/subscriptions/{SUB}/resourcegroups/rg")],
        ..EstateSettings::of_hosts(vec![])
    };
    let ws = [WS.to_owned()];
    let logs = FakeLogs::default();
    let t0 = now - time::Duration::hours(2);
    // A serial console use on vm2 opens a door in a whole read.
    let serial = format!(
        "{}/providers/microsoft.serialconsole/serialports/0",
        vm("vm2")
    );
    ingest(&logs, events::SERIAL_CONNECT, "s1", &serial, t0);
    let first = run(&ports, Some(&logs), None, &settings, &ws, now).await;
    let opened: Vec<&Value> = first
        .findings
        .iter()
        .map(|n| &n.evidence["finding"])
        .collect();
    assert_eq!(opened, [&json!("door:serial-console")]);
    // A day later: a Run Command on vm1, then more VM writes at one instant than a page holds.
    let later = now + time::Duration::hours(25);
    let t1 = later - time::Duration::hours(2);
    ingest(&logs, RUN_COMMAND, "r1", &vm("vm1"), t1);
    let at = t1 + time::Duration::minutes(5);
    for n in 0..=events::PAGE_ROWS {
        ingest(
            &logs,
            "Microsoft.Compute/virtualMachines/write",
            &format!("w{n}"),
            &vm("vm3"),
            at,
        );
    }
    let cut = run(&ports, Some(&logs), None, &settings, &ws, later).await;
    let mut kinds: Vec<(&str, &Value)> = cut
        .findings
        .iter()
        .map(|n| (n.kind.name, &n.evidence["finding"]))
        .collect();
    kinds.sort_by_key(|(k, f)| (*k, f.to_string()));
    // The Run Command read is raised; the serial console use left the window but does not clear.
    assert_eq!(
        kinds,
        [
            (
                crate::spine::kinds::ESTATE_FINDING.name,
                &json!("check-failed:activity-log")
            ),
            (
                crate::spine::kinds::ESTATE_FINDING.name,
                &json!("door:run-command")
            )
        ],
        "{kinds:?}"
    );
    let n = cut
        .findings
        .iter()
        .find(|n| n.evidence["finding"] == "check-failed:activity-log")
        .expect("announced");
    assert_eq!(n.evidence["findingSeverity"], "medium");
    let said = n.evidence["evidence"].as_str().unwrap_or_default();
    assert!(
        said.contains("not read whole") && said.contains("more than 5000 rows at"),
        "{said}"
    );
    let rows = store::list(ports.tables.as_ref()).await.expect("rows").rows;
    let open = |code: &str, host: &str| {
        rows.iter()
            .any(|r| r.finding == code && r.host_name == host && r.status == "open")
    };
    assert!(
        open("door:serial-console", "vm2"),
        "nothing clears on a read cut short"
    );
}
