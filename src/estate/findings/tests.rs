//! One test per finding: a healthy host has none; flipping one fact opens exactly that finding.

use serde_json::{Value, json};

use super::*;

const DNS: &str = "bst-1.bastion.azure.com";

/// Host, diagnostic settings, blob service, container: as Resource Manager answers them.
type Parts = (Value, Value, Value, Value);
/// Flips one fact of the parts.
type Edit = Box<dyn FnOnce(&mut Parts)>;

fn healthy() -> Parts {
    (
        json!({"name": "b1", "sku": {"name": "Premium"}, "properties": {
            "provisioningState": "Succeeded", "dnsName": DNS, "enableSessionRecording": true,
            "enableTunneling": false, "enableShareableLink": false, "enableIpConnect": false}}),
        json!([{"name": "to-archive", "properties": {
            "storageAccountId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/auditacct",
            "logs": [{"category": "BastionAuditLogs", "enabled": true}]}}]),
        json!({"properties": {"isVersioningEnabled": false, "cors": {"corsRules": [
            {"allowedOrigins": [format!("https://{DNS}")], "allowedMethods": ["GET", "OPTIONS"]}]}}}),
        json!({"properties": {"hasImmutabilityPolicy": false}}),
    )
}

fn sinks() -> Sinks {
    Sinks {
        accounts: ["auditacct".to_owned()].into(),
        workspaces: ["/subscriptions/s/resourcegroups/r/providers/microsoft.operationalinsights/workspaces/w".to_owned()].into(),
        customer_ids: Default::default(),
    }
}

fn facts(parts: &Parts) -> HostFacts {
    HostFacts {
        host: Some(Ok(serde_json::from_value(parts.0.clone()).expect("host"))),
        diagnostics: Some(Ok(serde_json::from_value(parts.1.clone()).expect("diag"))),
        blob_service: Some(Ok(serde_json::from_value(parts.2.clone()).expect("blob"))),
        container: Some(Ok(
            serde_json::from_value(parts.3.clone()).expect("container")
        )),
        unknown_account: None,
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
            "logs": [{"category": "BastionAuditLogs", "enabled": true}]}}]);
    });
    assert_eq!(codes(&workspace), Vec::<&str>::new());
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
    f.diagnostics = Some(Err(ArmError::MissingRole {
        role: "Monitoring Reader on b1".into(),
    }));
    f.container = Some(Err(ArmError::Transient("HTTP 503".into())));
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
