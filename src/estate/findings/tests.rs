//! One test per finding: a healthy host has none; flipping one fact opens exactly that finding.

use serde_json::{Value, json};

use super::*;
use crate::arm::BastionHost;
use crate::azure::AzureError;

const DNS: &str = "bst-1.bastion.azure.com";

/// Host, diagnostic settings, blob service, container: as Resource Manager answers them.
type Parts = (Value, Value, Value, Value);
/// Flips one fact of the parts.
type Edit = Box<dyn FnOnce(&mut Parts)>;

fn healthy() -> Parts {
    (
        json!({"name": "b1", "sku": {"name": "Premium"}, "properties": {
            "provisioningState": "Succeeded", "dnsName": DNS, "enableSessionRecording": true,
            "enableTunneling": false, "enableShareableLink": false, "enableIpConnect": false,
            "sessionRecordingConfiguration": {"identity": {"type": "SystemAssigned"},
                "blobContainerUri": "https://strec.blob.core.windows.net/recordings"}},
            "identity": {"type": "SystemAssigned", "principalId": "0a1b2c3d-0000-4000-8000-000000000001"}}),
        json!([{"name": "to-archive", "properties": {
            "storageAccountId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/auditacct",
            "logs": [{"category": "BastionAuditLogs", "enabled": true}]}}]),
        json!({"properties": {"isVersioningEnabled": false, "cors": {"corsRules": [
            {"allowedOrigins": [format!("https://{DNS}")], "allowedMethods": ["GET"],
             "allowedHeaders": ["*"], "exposedHeaders": ["*"], "maxAgeInSeconds": 86400}]}}}),
        json!({"properties": {"hasImmutabilityPolicy": false}}),
    )
}

fn sinks() -> Sinks {
    Sinks {
        accounts: ["auditacct".to_owned()].into(),
        workspaces: ["/subscriptions/s/resourcegroups/r/providers/microsoft.operationalinsights/workspaces/w".to_owned()].into(),
        customer_ids: Default::default(),
        custody: None,
        custody_workspaces: Default::default(),
    }
}

fn facts(parts: &Parts) -> HostFacts {
    HostFacts {
        at: Some(time::macros::datetime!(2026-11-25 12:00 UTC)),
        watched: vec!["strec/recordings".into()],
        target_writable: None,
        entra_rdp_vms: None,
        host: Some(Ok(serde_json::from_value(parts.0.clone()).expect("host"))),
        diagnostics: Some(Ok(serde_json::from_value(parts.1.clone()).expect("diag"))),
        blob_service: Some(Ok(serde_json::from_value(parts.2.clone()).expect("blob"))),
        container: Some(Ok(
            serde_json::from_value(parts.3.clone()).expect("container")
        )),
        unknown_account: None,
        blob_diagnostics: None,
        audit_trail: None,
    }
}

fn codes(ev: &Evaluation) -> Vec<&str> {
    ev.findings.iter().map(|f| f.code.as_str()).collect()
}

/// Flips one fact of a healthy host and returns the findings.
fn flipped(edit: impl FnOnce(&mut Parts)) -> Evaluation {
    let mut parts = healthy();
    edit(&mut parts);
    evaluate(&facts(&parts), &sinks())
}

#[test]
fn a_healthy_host_has_no_finding_and_every_code_is_assessed() {
    let ev = evaluate(&facts(&healthy()), &sinks());
    assert_eq!(codes(&ev), Vec::<&str>::new());
    for code in [
        "sku-not-premium",
        "recording-off",
        "native-client-on",
        "shareable-link-on",
        "ip-connect-on",
        "not-succeeded",
        "audit-logs-not-sent",
        "container-versioning",
        "cors-missing",
        "container-immutability",
        "recording-account-unknown",
        "check-failed:host",
        "audit-logs-azurediagnostics",
        "recording-target-unknown",
        "recording-target-missing",
        "recording-target-unwatched",
    ] {
        assert!(ev.assessed.contains(code), "{code}");
    }
}

#[test]
fn each_flipped_fact_opens_exactly_its_finding() {
    let cases: Vec<(&str, Level, Edit)> = vec![
        (
            "sku-not-premium",
            Level::High,
            Box::new(|p| p.0["sku"]["name"] = json!("Standard")),
        ),
        (
            "recording-off",
            Level::High,
            Box::new(|p| p.0["properties"]["enableSessionRecording"] = json!(false)),
        ),
        (
            "native-client-on",
            Level::High,
            Box::new(|p| p.0["properties"]["enableTunneling"] = json!(true)),
        ),
        (
            "shareable-link-on",
            Level::Info,
            Box::new(|p| p.0["properties"]["enableShareableLink"] = json!(true)),
        ),
        (
            "ip-connect-on",
            Level::Info,
            Box::new(|p| p.0["properties"]["enableIpConnect"] = json!(true)),
        ),
        (
            "not-succeeded",
            Level::Medium,
            Box::new(|p| p.0["properties"]["provisioningState"] = json!("Failed")),
        ),
        (
            "audit-logs-not-sent",
            Level::High,
            Box::new(|p| p.1 = json!([])),
        ),
        (
            "container-versioning",
            Level::High,
            Box::new(|p| p.2["properties"]["isVersioningEnabled"] = json!(true)),
        ),
        (
            "cors-missing",
            Level::Medium,
            Box::new(|p| {
                p.2["properties"]["cors"]["corsRules"][0]["allowedMethods"] = json!(["PUT"])
            }),
        ),
        (
            "container-immutability",
            Level::High,
            Box::new(|p| p.3["properties"]["hasImmutabilityPolicy"] = json!(true)),
        ),
    ];
    for (code, level, edit) in cases {
        let ev = flipped(edit);
        assert_eq!(codes(&ev), vec![code]);
        assert_eq!(ev.findings[0].level, level, "{code}");
        assert!(!ev.findings[0].evidence.is_empty());
    }
}

#[test]
fn audit_logs_count_only_when_enabled_and_sent_where_this_app_reads() {
    let off = flipped(|p| p.1[0]["properties"]["logs"][0]["enabled"] = json!(false));
    assert_eq!(codes(&off), vec!["audit-logs-not-sent"]);
    let elsewhere = flipped(|p| {
        p.1[0]["properties"]["storageAccountId"] = json!(
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/other"
        );
    });
    assert_eq!(codes(&elsewhere), vec!["audit-logs-not-sent"]);
    for group in ["audit", "allLogs"] {
        let ev = flipped(|p| {
            p.1[0]["properties"]["logs"] = json!([{"categoryGroup": group, "enabled": true}])
        });
        assert_eq!(codes(&ev), Vec::<&str>::new(), "{group}");
    }
    let workspace = flipped(|p| {
        p.1 = json!([{"name": "ws", "properties": {
            "workspaceId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w",
            "logAnalyticsDestinationType": "Dedicated",
            "logs": [{"category": "BastionAuditLogs", "enabled": true}]}}]);
    });
    assert_eq!(codes(&workspace), Vec::<&str>::new());
}

/// A workspace sink in the default mode (`logAnalyticsDestinationType` null or absent) is a sink:
/// Microsoft documents Bastion's audit logs in `MicrosoftAzureBastionAuditLogs` only, so the mode
/// alone is an info finding worded as a possibility, never "not sent".
#[test]
fn a_workspace_sink_in_the_default_mode_is_a_sink_and_at_most_an_info_possibility() {
    for destination in [json!(null), json!("AzureDiagnostics")] {
        let ev = flipped(|p| {
            p.1 = json!([{"name": "to-law", "properties": {
                "storageAccountId": null, "eventHubAuthorizationRuleId": null,
                "workspaceId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w",
                "logAnalyticsDestinationType": destination,
                "logs": [{"categoryGroup": "audit", "enabled": true}]}}]);
        });
        assert_eq!(
            codes(&ev),
            vec!["audit-logs-azurediagnostics"],
            "{destination}"
        );
        assert_eq!(ev.findings[0].level, Level::Info);
        let text = &ev.findings[0].evidence;
        assert!(text.contains("to-law") && text.contains("may"), "{text}");
        assert!(text.contains("MicrosoftAzureBastionAuditLogs"), "{text}");
    }
}

fn trail(last_record: Option<time::OffsetDateTime>, used: bool) -> crate::estate::trail::Trail {
    let since = time::macros::datetime!(2026-11-24 12:00 UTC);
    crate::estate::trail::Trail {
        since,
        last_record,
        used: used.then(|| crate::estate::trail::Use {
            at: since + time::Duration::hours(2),
            what: "live session s-1".into(),
        }),
    }
}

/// Audit logs flowing is decided by what was read: a host with a sink that was used in the window
/// and sent no record in it is `audit-logs-silent` (high); a record in the window, or no use,
/// clears it; a table not read leaves it undecided; without a sink `audit-logs-not-sent` says it.
#[test]
fn silence_is_decided_by_the_records_read_while_the_host_was_used() {
    let with = |t: Option<crate::estate::trail::Trail>| {
        let mut f = facts(&healthy());
        f.audit_trail = t.map(Ok);
        evaluate(&f, &sinks())
    };
    let since = time::macros::datetime!(2026-11-24 12:00 UTC);
    let silent = with(Some(trail(Some(since - time::Duration::hours(5)), true)));
    assert_eq!(codes(&silent), vec!["audit-logs-silent"]);
    assert_eq!(silent.findings[0].level, Level::High);
    let text = &silent.findings[0].evidence;
    assert!(
        text.contains("to-archive") && text.contains("live session s-1"),
        "{text}"
    );
    assert_eq!(
        codes(&with(Some(trail(None, true)))),
        vec!["audit-logs-silent"]
    );
    for quiet in [trail(Some(since), true), trail(None, false)] {
        let ev = with(Some(quiet));
        assert_eq!(codes(&ev), Vec::<&str>::new());
        assert!(ev.assessed.contains("audit-logs-silent"));
    }
    assert!(
        !with(None).assessed.contains("audit-logs-silent"),
        "not read: undecided"
    );
    let mut f = facts(&healthy());
    f.audit_trail = Some(Ok(trail(None, true)));
    let mut parts = healthy();
    parts.1[0]["properties"]["logs"][0]["enabled"] = json!(false);
    f.diagnostics = Some(Ok(serde_json::from_value(parts.1).expect("diag")));
    assert_eq!(codes(&evaluate(&f, &sinks())), vec!["audit-logs-not-sent"]);
}

/// `workspaceId: ""` and `storageAccountId: ""` are no destination (the API writes `""`).
#[test]
fn empty_destinations_are_none() {
    let ev = flipped(|p| {
        p.1 = json!([{"name": "hub", "properties": {"storageAccountId": "", "workspaceId": "",
            "eventHubAuthorizationRuleId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.EventHub/namespaces/n/authorizationrules/RootManageSharedAccessKey",
            "logs": [{"category": "BastionAuditLogs", "enabled": true}]}}]);
    });
    assert_eq!(codes(&ev), vec!["audit-logs-not-sent"]);
}

/// The CORS rule as the session recording documentation states it: the origin compared
/// case-sensitively, GET, allowed and exposed headers `*`, max age 86400.
#[test]
fn cors_is_checked_as_the_recording_documentation_states_it() {
    fn rule(p: &mut Parts) -> &mut Value {
        &mut p.2["properties"]["cors"]["corsRules"][0]
    }
    let cases: Vec<(&str, Edit)> = vec![
        (
            "origin https://BST-1.bastion.azure.com",
            Box::new(|p| rule(p)["allowedOrigins"] = json!(["https://BST-1.bastion.azure.com"])),
        ),
        (
            "allowed headers *",
            Box::new(|p| rule(p)["allowedHeaders"] = json!(["x-ms-version"])),
        ),
        (
            "exposed headers *",
            Box::new(|p| rule(p)["exposedHeaders"] = json!([])),
        ),
        (
            "max age 86400",
            Box::new(|p| rule(p)["maxAgeInSeconds"] = json!(600)),
        ),
        (
            "max age 86400",
            Box::new(|p| rule(p)["maxAgeInSeconds"] = json!(null)),
        ),
    ];
    for (lacks, edit) in cases {
        let ev = flipped(|p| {
            // The documented origin is the host's own DNS name, as it reports it.
            if lacks.starts_with("origin") {
                p.0["properties"]["dnsName"] = json!("BST-1.bastion.azure.com");
                rule(p)["allowedOrigins"] = json!([format!("https://{DNS}")]);
            } else {
                edit(p);
            }
        });
        assert_eq!(codes(&ev), vec!["cors-missing"], "{lacks}");
        assert!(
            ev.findings[0].evidence.contains(lacks),
            "{lacks}: {}",
            ev.findings[0].evidence
        );
    }
    let longer = flipped(|p| rule(p)["maxAgeInSeconds"] = json!(172_800));
    assert_eq!(codes(&longer), Vec::<&str>::new());
}

#[test]
fn cors_accepts_a_wildcard_origin_and_version_level_worm_counts_as_immutability() {
    let star =
        flipped(|p| p.2["properties"]["cors"]["corsRules"][0]["allowedOrigins"] = json!(["*"]));
    assert_eq!(codes(&star), Vec::<&str>::new());
    let other = flipped(|p| {
        p.2["properties"]["cors"]["corsRules"][0]["allowedOrigins"] =
            json!(["https://evil.example"])
    });
    assert_eq!(codes(&other), vec!["cors-missing"]);
    let worm =
        flipped(|p| p.3["properties"]["immutableStorageWithVersioning"] = json!({"enabled": true}));
    assert_eq!(codes(&worm), vec!["container-immutability"]);
}

#[test]
fn a_failed_part_is_a_finding_naming_the_role_and_leaves_its_findings_undecided() {
    let mut f = facts(&healthy());
    f.diagnostics = Some(Err(AzureError::Forbidden {
        role: "Monitoring Reader on b1".into(),
    }));
    f.container = Some(Err(AzureError::Transient("HTTP 503".into())));
    let ev = evaluate(&f, &sinks());
    assert_eq!(
        codes(&ev),
        vec!["check-failed:diagnostics", "check-failed:container"]
    );
    assert_eq!(ev.findings[0].level, Level::High);
    assert!(
        ev.findings[0]
            .evidence
            .contains("missing role Monitoring Reader on b1")
    );
    assert_eq!(ev.findings[1].level, Level::Medium);
    assert!(!ev.assessed.contains("audit-logs-not-sent"));
    assert!(!ev.assessed.contains("container-immutability"));
    assert!(ev.assessed.contains("recording-off"));
}

#[test]
fn a_host_without_a_recording_source_skips_the_storage_checks() {
    let mut f = facts(&healthy());
    f.blob_service = None;
    f.container = None;
    let ev = evaluate(&f, &sinks());
    assert!(ev.findings.is_empty());
    assert!(!ev.assessed.contains("cors-missing"));
    assert!(ev.assessed.contains("check-failed:container"));
}

#[test]
fn an_account_without_its_resource_id_is_a_finding_naming_the_setting() {
    let mut f = facts(&healthy());
    f.blob_service = None;
    f.container = None;
    f.unknown_account = Some("strec".into());
    let ev = evaluate(&f, &sinks());
    assert_eq!(codes(&ev), vec!["recording-account-unknown"]);
    assert_eq!(ev.findings[0].level, Level::High);
    let text = &ev.findings[0].evidence;
    assert!(
        text.contains("strec") && text.contains("RECORDINGS_ACCOUNT_IDS"),
        "{text}"
    );
    assert!(!ev.assessed.contains("container-versioning"));
    assert!(ev.assessed.contains("check-failed:container"));
}

/// A part Resource Manager throttled past the run says until when (medium: nothing is missing).
#[test]
fn a_throttled_part_says_until_when() {
    let mut f = facts(&healthy());
    f.container = Some(Err(AzureError::Throttled {
        retry_after: Some(std::time::Duration::from_secs(600)),
    }));
    let ev = evaluate(&f, &sinks());
    assert_eq!(codes(&ev), vec!["check-failed:container"]);
    assert_eq!(ev.findings[0].level, Level::Medium);
    assert!(
        ev.findings[0]
            .evidence
            .contains("throttled by Resource Manager until 2026-11-25T12:10:00Z"),
        "{}",
        ev.findings[0].evidence
    );
}

fn with_target(p: &mut Parts, uri: Value) {
    p.0["properties"]["sessionRecordingConfiguration"] =
        json!({"blobContainerUri": uri, "identity": {"type": "SystemAssigned"}});
    p.0["identity"] = json!({"type": "SystemAssigned", "principalId": "0a1b2c3d-0000-4000-8000-000000000001",
        "tenantId": "00000000-0000-0000-0000-0000000000f1"});
}

/// Bastion 2026-01-01: where the host records, against what this app watches.
#[test]
fn the_recording_target_is_held_against_the_watched_sources() {
    let watched =
        flipped(|p| with_target(p, json!("https://strec.blob.core.windows.net/recordings")));
    assert_eq!(codes(&watched), Vec::<&str>::new());
    let elsewhere =
        flipped(|p| with_target(p, json!("https://stother.blob.core.windows.net/bastion")));
    assert_eq!(codes(&elsewhere), vec!["recording-target-unwatched"]);
    let text = &elsewhere.findings[0].evidence;
    assert!(
        text.contains("https://stother.blob.core.windows.net/bastion")
            && text.contains("strec/recordings"),
        "names both: {text}"
    );
    let none = flipped(|p| with_target(p, json!(null)));
    assert_eq!(codes(&none), vec!["recording-target-missing"]);
    assert_eq!(none.findings[0].level, Level::High);
    let empty = flipped(|p| with_target(p, json!("")));
    assert_eq!(codes(&empty), vec!["recording-target-missing"]);
    // An older api-version, or a SAS URL target: nothing to compare, said once as info.
    let older = evaluate(&facts(&healthy()), &sinks());
    assert!(older.assessed.contains("recording-target-unknown"));
    for config in [json!(null), Value::Null] {
        let ev = flipped(|p| {
            let props = p.0["properties"].as_object_mut().expect("properties");
            props.remove("sessionRecordingConfiguration");
            if !config.is_null() {
                props.insert("sessionRecordingConfiguration".into(), config.clone());
            }
        });
        assert_eq!(codes(&ev), vec!["recording-target-unknown"]);
        assert_eq!(ev.findings[0].level, Level::Info);
    }
    // Recording off: no target finding at all.
    let off = flipped(|p| {
        with_target(p, json!(null));
        p.0["properties"]["enableSessionRecording"] = json!(false);
    });
    assert_eq!(codes(&off), vec!["recording-off"]);
}

/// Where the identity's role assignments were read: no blob write, a finding naming the identity.
#[test]
fn a_target_its_identity_cannot_write_is_a_finding() {
    let mut parts = healthy();
    with_target(
        &mut parts,
        json!("https://strec.blob.core.windows.net/recordings"),
    );
    let mut f = facts(&parts);
    f.target_writable = Some(Ok(false));
    let ev = evaluate(&f, &sinks());
    assert_eq!(codes(&ev), vec!["recording-target-not-writable"]);
    assert!(
        ev.findings[0]
            .evidence
            .contains("0a1b2c3d-0000-4000-8000-000000000001")
    );
    f.target_writable = Some(Ok(true));
    assert_eq!(codes(&evaluate(&f, &sinks())), Vec::<&str>::new());
    f.target_writable = Some(Err(AzureError::Forbidden {
        role: "Microsoft.Authorization/roleAssignments/read on strec".into(),
    }));
    let ev = evaluate(&f, &sinks());
    assert_eq!(codes(&ev), vec!["check-failed:recording-access"]);
    assert!(
        !ev.assessed.contains("recording-target-not-writable"),
        "left as it was"
    );
}

/// Microsoft documents that Entra ID authentication for RDP in the portal cannot be used with
/// graphical session recording: a recording host whose RDP sessions reach such VMs is a finding.
#[test]
fn entra_id_rdp_beside_recording_is_a_finding() {
    let mut f = facts(&healthy());
    f.entra_rdp_vms = Some(Ok(vec!["vm-win-01".into()]));
    let ev = evaluate(&f, &sinks());
    assert_eq!(codes(&ev), vec!["entra-rdp-recording"]);
    assert!(ev.findings[0].evidence.contains("vm-win-01"));
    f.entra_rdp_vms = Some(Ok(vec![]));
    assert_eq!(codes(&evaluate(&f, &sinks())), Vec::<&str>::new());
    // The VMs' read is granted only where asked for: without it, info, not a degraded estate.
    f.entra_rdp_vms = Some(Err(AzureError::Forbidden {
        role: "Microsoft.Compute/virtualMachines/extensions/read on vm-win-01".into(),
    }));
    let ev = evaluate(&f, &sinks());
    assert_eq!(codes(&ev), vec!["check-failed:entra-rdp"]);
    assert_eq!(ev.findings[0].level, Level::Info);
    assert!(
        ev.findings[0]
            .evidence
            .contains("bastionSessionTargetGroups")
    );
    assert!(
        !ev.assessed.contains("entra-rdp-recording"),
        "left as it was"
    );
}

/// The identity a host records with, as the 2026-01-01 answer and its SDK samples show it.
#[test]
fn the_recording_principal_is_the_system_or_the_named_user_identity() {
    let uami = "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bastion-rec";
    let host: BastionHost = serde_json::from_value(json!({
        "properties": {"enableSessionRecording": true, "sessionRecordingConfiguration": {
            "identity": {"type": "UserAssigned", "userAssignedIdentityId": uami},
            "blobContainerUri": "https://contosostorage.blob.core.windows.net/contosocontainer"}},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {
            uami.to_uppercase(): {"principalId": "11111111-0000-0000-0000-000000000001", "clientId": "c"}}}
    }))
    .expect("host");
    assert_eq!(
        host.recording_principal(),
        Some("11111111-0000-0000-0000-000000000001")
    );
    assert_eq!(
        target_of("https://contosostorage.blob.core.windows.net/contosocontainer"),
        Some(("contosostorage".into(), "contosocontainer".into()))
    );
    assert_eq!(
        target_of("https://st1.blob.core.usgovcloudapi.net/rec/"),
        Some(("st1".into(), "rec".into()))
    );
    assert_eq!(
        target_of("https://st1.privatelink.blob.core.windows.net/rec"),
        Some(("st1".into(), "rec".into()))
    );
    assert_eq!(target_of("https://st1.file.core.windows.net/rec"), None);
}

#[test]
fn a_recording_account_without_storage_writes_and_deletes_to_the_custody_workspace_is_a_finding() {
    const CUSTODY: &str = "/subscriptions/s/resourcegroups/r/providers/microsoft.operationalinsights/workspaces/custody";
    let mut s = sinks();
    s.custody = Some("c0ffee00-0000-4000-8000-000000000047".into());
    s.custody_workspaces = [CUSTODY.to_owned()].into();
    let with = |settings: Value| {
        let mut f = facts(&healthy());
        f.blob_diagnostics = Some(Ok(serde_json::from_value(settings).expect("settings")));
        evaluate(&f, &s)
    };
    // Reads and writes only, or deletes to another workspace: the deleter cannot be named.
    let reads = json!([{"name": "reads", "properties": {"workspaceId": CUSTODY,
        "logs": [{"category": "StorageRead", "enabled": true}, {"category": "StorageWrite", "enabled": true}]}}]);
    assert_eq!(codes(&with(reads)), ["custody-logs-not-sent"]);
    let elsewhere = json!([{"name": "x", "properties": {"workspaceId": "/subscriptions/s/resourcegroups/r/providers/microsoft.operationalinsights/workspaces/other",
        "logs": [{"category": "StorageDelete", "enabled": true}]}}]);
    let ev = with(elsewhere);
    assert_eq!(codes(&ev), ["custody-logs-not-sent"]);
    assert!(
        ev.findings[0].evidence.contains("CUSTODY_WORKSPACE_ID"),
        "{:?}",
        ev.findings
    );
    // Deletes only: who wrote or replaced a recording cannot be named (the writer check and a
    // replacement's actor read StorageWrite).
    let deletes = json!([{"name": "deletes", "properties": {"workspaceId": CUSTODY,
        "logs": [{"category": "StorageDelete", "enabled": true}]}}]);
    let ev = with(deletes);
    assert_eq!(codes(&ev), ["custody-logs-not-sent"]);
    assert!(
        ev.findings[0].evidence.contains("StorageWrite")
            && !ev.findings[0].evidence.contains("StorageDelete"),
        "{:?}",
        ev.findings
    );
    // Both, in one setting or two, or the audit or allLogs group: nothing.
    let two = json!([
        {"name": "w", "properties": {"workspaceId": CUSTODY, "logs": [{"category": "StorageWrite", "enabled": true}]}},
        {"name": "d", "properties": {"workspaceId": CUSTODY, "logs": [{"category": "StorageDelete", "enabled": true}]}}]);
    assert!(codes(&with(two)).is_empty());
    for logs in [
        json!([{"category": "StorageWrite", "enabled": true}, {"category": "StorageDelete", "enabled": true}]),
        json!([{"categoryGroup": "audit", "enabled": true}]),
        json!([{"categoryGroup": "allLogs", "enabled": true}]),
    ] {
        let ok = json!([{"name": "custody", "properties": {"workspaceId": CUSTODY, "logs": logs}}]);
        assert!(codes(&with(ok)).is_empty());
    }
    // Without a custody workspace the settings are not read: nothing is decided.
    assert!(
        !evaluate(&facts(&healthy()), &sinks())
            .assessed
            .contains("custody-logs-not-sent")
    );
}
