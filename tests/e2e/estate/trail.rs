//! Audit logs flowing, decided by evidence: a workspace sink in the default mode is a sink (an
//! info possibility, announced to nobody); a host used (a session Bastion reported live) while no
//! audit record of it arrived for the window is `audit-logs-silent`, and the first record the tail
//! reads clears it.

use serde_json::{Value, json};

use super::fake_arm::{self, SUB, host_id};
use super::{Rig, only};
use crate::harness::azurite;

use super::doors::CUSTOMER;

/// The open findings of `/api/estate`: `(finding, severity)`.
async fn open(rig: &Rig) -> Vec<(String, String)> {
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let items = estate["items"].as_array().cloned().unwrap_or_default();
    let mut out: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (s("finding"), s("severity"))
        })
        .collect();
    out.sort();
    out
}

/// Host `b1`'s hour blob of 08:00 on the rig's day, as Azure Monitor names it.
fn hour_blob() -> String {
    format!(
        "resourceId={}/y=2026/m=11/d=25/h=08/m=00/PT1H.json",
        host_id("b1").to_ascii_uppercase()
    )
}

/// Appends one audit record of `b1` (a connect at 08:00:30) and announces the blob as Event Grid does.
async fn audit_record_arrives(rig: &Rig, cs: &str) {
    let record = json!({"time": "2026-11-25T08:00:30.000Z", "resourceId": host_id("b1").to_ascii_uppercase(),
        "operationName": "Microsoft.Network/BastionHost/connect", "category": "BastionAuditLogs",
        "properties": {"userName": "alice", "protocol": "ssh", "clientIpAddress": "203.0.113.9",
            "targetResourceId": format!("/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-E2E"),
            "message": "Successfully Connected.", "tunnelId": "5f0c2d7e-8b1a-4c3e-9d2f-00000000b101"}});
    super::audit_lines_arrive(rig, cs, &hour_blob(), format!("{record}\n")).await;
}

#[tokio::test]
async fn audit_logs_flowing_is_decided_by_the_records_read() {
    let Some(cs) = azurite() else { return };
    let ws = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-law/providers/Microsoft.OperationalInsights/workspaces/law"
    );
    // The workspace is looked up through Resource Manager; Log Analytics is asked only for the
    // Activity log (one quiet row of the subscription: no other door).
    let (_logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    let key = host_id("b1").to_ascii_lowercase();
    let archive = rig.arm.with(|e| e.diagnostics[&key].clone());
    // The portal's default: a workspace sink with logAnalyticsDestinationType null.
    let default_mode = json!({"id": format!("{}/providers/microsoft.insights/diagnosticSettings/to-law", host_id("b1")),
        "type": "Microsoft.Insights/diagnosticSettings", "name": "to-law",
        "properties": {"storageAccountId": null, "workspaceId": ws, "logAnalyticsDestinationType": null,
            "logs": [{"category": "BastionAuditLogs", "enabled": true}], "metrics": []}});
    rig.arm.with(|e| {
        e.workspaces
            .insert(ws.to_ascii_lowercase(), CUSTOMER.to_owned());
        e.diagnostics.insert(key.clone(), vec![default_mode]);
    });
    assert_eq!(
        rig.check().await,
        Vec::<Value>::new(),
        "nothing high, nothing announced"
    );
    assert_eq!(
        open(&rig).await,
        [("audit-logs-azurediagnostics".to_owned(), "info".to_owned())]
    );

    // The archive sink; host b1 used at 08:00 (a session Bastion reported live), no record read.
    rig.arm.with(|e| {
        e.diagnostics.insert(key.clone(), archive);
        e.sessions.insert(key.clone(), vec![json!({"sessionId": "s-quiet",
            "startTime": "2026-11-25T08:00:00.000Z", "resourceType": "VM", "targetHostName": "vm-e2e",
            "userName": "alice", "targetIpAddress": "10.10.1.4", "protocol": "SSH",
            "targetResourceId": format!("/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-e2e", fake_arm::SUB),
            "sessionDurationInMins": 5.0})]);
    });
    let inv = rig.next_timer("LiveSessions");
    let (status, body) = rig.handler.invoke("LiveSessions", &inv).await;
    assert_eq!(status, 200, "{body}");
    let n = only(&rig.check().await, "estate.finding", "audit-logs-silent");
    assert_eq!(n["data"]["findingSeverity"], "high");
    let evidence = n["data"]["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.contains("to-archive") && evidence.contains("live session s-quiet"),
        "{evidence}"
    );

    // The host's audit record arrives and the tail reads it: the silence clears.
    audit_record_arrives(&rig, &cs).await;
    let inv = rig.next_timer("AuditLogTail");
    let (status, body) = rig.handler.invoke("AuditLogTail", &inv).await;
    assert_eq!(status, 200, "{body}");
    only(&rig.check().await, "estate.resolved", "audit-logs-silent");
    assert_eq!(open(&rig).await, Vec::<(String, String)>::new());
}
