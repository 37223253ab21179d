//! The estate checks against what Resource Manager documents beyond a healthy answer: a throttle
//! longer than the run, the Network provider's operation URLs refused, a workspace sink in the
//! default (AzureDiagnostics) mode, a cloud without api-version 2026-01-01, and a recording host
//! whose RDP sessions reach VMs signing in with Entra ID.

use serde_json::{Value, json};

use super::fake_arm::{self, host_id};
use super::{Rig, notifications, only};
use crate::harness::azurite;

/// One host answering `Retry-After: 600` (longer than the run has left) ends that part of the run
/// at once, and every other call the paused lane would hold: a finding per part saying until when,
/// in seconds, not the minute the run's end would take (nor the next runs queued behind it).
#[tokio::test]
async fn a_throttle_longer_than_the_run_ends_that_part_at_once() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.check().await;
    rig.arm.with(|e| {
        e.throttle = 1000;
        e.throttle_wait = 600;
    });
    let started = std::time::Instant::now();
    let ns = rig.check().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "ended at once: {:?}\n{}",
        started.elapsed(),
        rig.handler.log_text()
    );
    let failed: Vec<&Value> = ns
        .iter()
        .filter(|n| {
            n["data"]["finding"]
                .as_str()
                .is_some_and(|f| f.starts_with("check-failed:"))
        })
        .collect();
    assert!(!failed.is_empty(), "{ns:?}");
    for n in failed {
        let evidence = n["data"]["evidence"].as_str().unwrap_or_default();
        assert!(
            evidence.contains("throttled by Resource Manager until 2026-"),
            "{evidence}"
        );
        assert_eq!(n["data"]["findingSeverity"], "medium", "{n}");
    }
    let requests = rig.arm.with(|e| e.throttled);
    assert!(requests <= 2, "the paused lanes asked no more: {requests}");
    // LiveSessions alike: the host's part ends at once, its finding says until when.
    let started = std::time::Instant::now();
    let inv = rig.next_timer("LiveSessions");
    let (status, body) = rig.handler.invoke("LiveSessions", &inv).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 500, "its only host failed: {body}");
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let live = estate["items"]
        .as_array()
        .and_then(|i| {
            i.iter()
                .find(|i| i["finding"] == "check-failed:live-sessions")
        })
        .cloned()
        .unwrap_or_else(|| panic!("{estate}"));
    assert!(
        live["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("throttled by Resource Manager until 2026-")),
        "{live}"
    );
}

/// The Network provider's status and result URLs under `/locations/` refused: the finding names
/// the permission they need at subscription scope, not the action a role on the host grants.
#[tokio::test]
async fn a_refused_operation_poll_names_the_subscription_permission() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.arm.with(|e| {
        e.lro = fake_arm::lro::Lro::Network;
        e.lro_polls = 1;
        e.forbid = vec!["/providers/Microsoft.Network/locations/".into()];
    });
    let inv = rig.next_timer("LiveSessions");
    let (status, body) = rig.handler.invoke("LiveSessions", &inv).await;
    assert_eq!(status, 500, "the only host failed: {body}");
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    let item = estate["items"]
        .as_array()
        .and_then(|i| {
            i.iter()
                .find(|i| i["finding"] == "check-failed:live-sessions")
        })
        .cloned()
        .unwrap_or_else(|| panic!("{estate}"));
    let evidence = item["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.contains("Microsoft.Network/locations/operations/read at subscription scope (/subscriptions/11111111-2222-3333-4444-555555555555)"),
        "{evidence}"
    );
    assert_eq!(item["severity"], "high");
    // Granted: the next tick reads the sessions and clears it.
    rig.arm.with(|e| e.forbid.clear());
    let inv = rig.next_timer("LiveSessions");
    let (status, body) = rig.handler.invoke("LiveSessions", &inv).await;
    assert_eq!(status, 200, "{body}");
    let ns = notifications(&body);
    assert!(
        ns.iter().any(|n| n["type"] == "estate.resolved"
            && n["data"]["finding"] == "check-failed:live-sessions"),
        "{ns:?}"
    );
}

/// A workspace sink in the default mode feeds `AzureDiagnostics`, not the table the workspace
/// reader queries: audit logs are not flowing, and the finding says how to switch.
#[tokio::test]
async fn a_workspace_sink_writing_to_azure_diagnostics_is_not_flowing() {
    let Some(cs) = azurite() else { return };
    const CUSTOMER: &str = "a1b2c3d4-0000-4000-8000-0000000000d1";
    let ws = format!(
        "/subscriptions/{}/resourceGroups/rg-law/providers/Microsoft.OperationalInsights/workspaces/law",
        fake_arm::SUB
    );
    // The workspace is only looked up through Resource Manager here; Log Analytics is never
    // called (a loopback endpoint: no identity is needed for it).
    let mut rig = Rig::new(
        &cs,
        &[
            ("AUDITLOGS_WORKSPACES", CUSTOMER),
            ("LOGANALYTICS_ENDPOINT", "http://127.0.0.1:9"),
        ],
    )
    .await;
    let sink = |dedicated: bool| {
        let mut p = json!({"storageAccountId": "", "workspaceId": ws,
            "logs": [{"category": "BastionAuditLogs", "enabled": true}], "metrics": []});
        if dedicated {
            p["logAnalyticsDestinationType"] = json!("Dedicated");
        }
        json!({"id": format!("{}/providers/microsoft.insights/diagnosticSettings/to-law", host_id("b1")),
            "type": "Microsoft.Insights/diagnosticSettings", "name": "to-law", "properties": p})
    };
    rig.arm.with(|e| {
        e.workspaces
            .insert(ws.to_ascii_lowercase(), CUSTOMER.to_owned());
        e.diagnostics
            .insert(host_id("b1").to_ascii_lowercase(), vec![sink(false)]);
    });
    let mut found: Vec<String> = rig
        .check()
        .await
        .iter()
        .filter_map(|n| n["data"]["finding"].as_str().map(str::to_owned))
        .collect();
    found.sort();
    assert_eq!(
        found,
        ["audit-logs-azurediagnostics", "audit-logs-not-sent"]
    );
    rig.arm.with(|e| {
        e.diagnostics
            .insert(host_id("b1").to_ascii_lowercase(), vec![sink(true)]);
    });
    let resolved = rig.check().await;
    assert_eq!(resolved.len(), 2, "{resolved:?}");
    assert!(resolved.iter().all(|n| n["type"] == "estate.resolved"));
}

/// Where Resource Manager does not know 2026-01-01 the check carries on with the older version:
/// no check-failed, and the target said to be unknown (info), not missing.
#[tokio::test]
async fn a_cloud_without_the_new_api_version_is_still_checked() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.arm
        .with(|e| e.refused_versions = vec!["2026-01-01".into()]);
    let ns = rig.check().await;
    let found: Vec<&str> = ns
        .iter()
        .filter_map(|n| n["data"]["finding"].as_str())
        .collect();
    assert_eq!(found, ["recording-target-unknown"], "{ns:?}");
    assert_eq!(ns[0]["data"]["findingSeverity"], "info");
}

/// A recording host whose RDP sessions reach a VM signing users in with Microsoft Entra ID.
#[tokio::test]
async fn entra_id_rdp_beside_recording_is_a_finding() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.check().await;
    let vm = format!(
        "/subscriptions/{}/resourceGroups/rg-app-weu/providers/Microsoft.Compute/virtualMachines/vm-win-01",
        fake_arm::SUB
    );
    rig.arm.with(|e| {
        e.sessions.insert(
            host_id("b1").to_ascii_lowercase(),
            vec![json!({"sessionId": "s-rdp", "startTime": "2026-11-25T12:0:00.0000Z",
                "resourceType": "VM", "targetHostName": "vm-win-01", "userName": "alice@contoso.com",
                "targetIpAddress": "10.10.1.5", "protocol": "RDP", "targetResourceId": vm,
                "sessionDurationInMins": 1.0})],
        );
        e.extensions
            .push(format!("{vm}/extensions/AADLoginForWindows").to_ascii_lowercase());
    });
    let inv = rig.next_timer("LiveSessions");
    let (status, body) = rig.handler.invoke("LiveSessions", &inv).await;
    assert_eq!(status, 200, "{body}");
    let n = only(&rig.check().await, "estate.finding", "entra-rdp-recording");
    assert!(
        n["data"]["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("vm-win-01")),
        "{n}"
    );
}
