//! The estate checks against what Resource Manager documents beyond a healthy answer: a throttle
//! longer than the run (ending only the calls that share it), the Network provider's operation
//! URLs refused, a cloud without api-version 2026-01-01, and a recording host
//! whose RDP sessions reach VMs signing in with Entra ID.

use serde_json::{Value, json};

use super::fake_arm::{self, host_id};
use super::{Rig, notifications, only};
use crate::harness::azurite;

/// One host answering `Retry-After: 600` (longer than the run has left) ends that part of the run
/// at once, and every other call its paused scope would hold: a finding per part saying until when,
/// in seconds, not the minute the run's end would take (nor the next runs queued behind it). The
/// host's `LiveSessions` unit is deferred until the pause ends.
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
    // One 429 per throttle scope (Network, Insights, Storage), the blob service and container of
    // the Storage one asked at once: then each scope is paused and asks no more.
    let requests = rig.arm.with(|e| e.throttled);
    assert!(requests <= 4, "the paused scopes asked no more: {requests}");
    // LiveSessions: the host's unit is deferred at once, before any call (its scope is paused
    // past the unit's budget, for every instance): retried by the queue, then sent again as a new
    // message, never poisoned; the paused scope is asked nothing.
    let asked = rig.arm.with(|e| e.requests.len());
    let started = std::time::Instant::now();
    let inv = rig.next_timer("LiveSessions");
    let (status, body) = rig.handler.invoke("LiveSessions", &inv).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 200, "{body}");
    assert!(notifications(&body).is_empty(), "{body}");
    assert_eq!(
        rig.arm.with(|e| e.requests.len()),
        asked,
        "the paused scope was asked"
    );
    let (_, health) = rig.handler.get_json("/api/health").await;
    let units = &health["workUnits"]["LiveSessions"];
    assert_eq!(units["poisoned"], json!([]), "{health}");
    assert_eq!(units["done"], json!(0), "{health}");
}

/// One host's Network provider throttled for 600 s (longer than the run) ends that host's Network
/// calls at once, and nothing else: in the same tick the second host (another subscription) is
/// read and its recording account's storage checks run, so its CORS gap is found.
#[tokio::test]
async fn a_throttle_ends_only_the_calls_that_share_it() {
    let Some(cs) = azurite() else { return };
    const SUB2: &str = "99999999-2222-3333-4444-555555555555";
    let b2 = host_id("b2").replace(fake_arm::SUB, SUB2);
    let hosts = format!("{},{b2}", host_id("b1"));
    let mut rig = Rig::new(&cs, &[("BASTION_HOSTS", &hosts)]).await;
    rig.arm.with(|e| {
        let container = e.containers.values().next().expect("container")["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        e.add_healthy("b2", super::ACCOUNT, &container, super::ACCOUNT);
        // Host b2 in the second subscription, its CORS rule missing from the shared account.
        let old = host_id("b2").to_ascii_lowercase();
        let mut host = e.hosts.remove(&old).expect("b2");
        host["id"] = json!(b2);
        e.hosts.insert(b2.to_ascii_lowercase(), host);
        let d = e.diagnostics.remove(&old).expect("b2 diagnostics");
        e.diagnostics.insert(b2.to_ascii_lowercase(), d);
        let svc = e.blob_services.values_mut().next().expect("svc");
        if let Some(rules) = svc["properties"]["cors"]["corsRules"].as_array_mut() {
            rules.retain(|r| r["allowedOrigins"][0] != json!("https://bst-b2.bastion.azure.com"));
        }
        e.throttle_wait = 600;
        e.throttle_under = Some(host_id("b1").to_ascii_lowercase());
    });
    let started = std::time::Instant::now();
    let ns = rig.check().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "ended at once: {:?}",
        started.elapsed()
    );
    let found = |host: &str, code: &str| {
        ns.iter().find(|n| {
            n["type"] == "estate.finding"
                && n["data"]["bastionHost"] == host
                && n["data"]["finding"] == code
        })
    };
    let throttled = found("b1", "check-failed:host").unwrap_or_else(|| panic!("{ns:?}"));
    assert!(
        throttled["data"]["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("throttled by Resource Manager until 2026-")),
        "{throttled}"
    );
    assert!(found("b2", "cors-missing").is_some(), "{ns:?}");
    let b2_failed: Vec<&Value> = ns
        .iter()
        .filter(|n| n["data"]["bastionHost"] == "b2")
        .filter(|n| {
            n["data"]["finding"]
                .as_str()
                .is_some_and(|f| f.starts_with("check-failed:"))
        })
        .collect();
    assert!(b2_failed.is_empty(), "b2 shares no throttle: {b2_failed:?}");
    let asked = rig.arm.with(|e| e.throttled);
    assert_eq!(asked, 1, "b1's Network provider asked once, then paused");
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
    // The host's unit delivers its finding's announcement, so it does not fail.
    assert_eq!(status, 200, "{body}");
    assert!(
        notifications(&body)
            .iter()
            .any(|n| n["data"]["finding"] == "check-failed:live-sessions"),
        "{body}"
    );
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

/// Where Resource Manager does not know 2026-01-01 the check carries on with the older version:
/// no check-failed, and the target said to be unknown (info: shown, announced to nobody), not missing.
#[tokio::test]
async fn a_cloud_without_the_new_api_version_is_still_checked() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.arm
        .with(|e| e.refused_versions = vec!["2026-01-01".into()]);
    let ns = rig.check().await;
    assert_eq!(ns, Vec::<Value>::new(), "an info finding notifies nobody");
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    assert_eq!(estate["count"], 1, "{estate}");
    assert_eq!(estate["items"][0]["finding"], "recording-target-unknown");
    assert_eq!(estate["items"][0]["severity"], "info");
    let (_, health) = rig.handler.get_json("/api/health").await;
    assert_eq!(health["estate"]["high"], json!([]), "{health}");
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
