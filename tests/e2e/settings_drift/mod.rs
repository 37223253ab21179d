//! Settings drift: every setting the handler reads ([`SETTINGS`]) is configured in the Bicep app
//! settings (`infra/modules/functionapp.bicep`, between the `app-settings:begin/end` markers) and in
//! `local.settings.example.json`, and neither configures anything else except the documented host
//! settings below. Connection settings count as configured through identity-based `NAME__<suffix>` keys.
//! [`auth`] ties `CATALOGUE_AUTH` to the platform authentication the Bicep deploys; [`sources`] checks
//! the connections that only `RECORDINGS_SOURCES` / `AUDITLOGS_SOURCES` name.

mod auth;
mod evidence;
mod sources;

use std::collections::BTreeSet;

/// Every setting the handler reads (`Config::from_lookup` and the readers it calls); a new setting is
/// appended here.
pub(crate) const SETTINGS: &[&str] = &[
    "FUNCTIONS_CUSTOMHANDLER_PORT",
    "EVIDENCE_SIGNING_KEY",
    "EVIDENCE_PAPER",
    "AzureWebJobsStorage",
    "RECORDINGS_SOURCES",
    "AUDITLOGS_SOURCES",
    "AUDITLOGS_WORKSPACES",
    "AUDITLOGS_QUERY_LAG_SECONDS",
    "AUDITLOGS_QUERY_OVERLAP_SECONDS",
    "AUDITLOGS_QUERY_PAGE_ROWS",
    "LOGANALYTICS_ENDPOINT",
    "QUARANTINE_CONTAINER",
    "TABLE_PREFIX",
    "RETENTION_POLICY",
    "RETENTION_MAX_DELETES_PER_RUN",
    "RETENTION_DRY_RUN",
    "RETENTION_CLASS_AUDITLOGS",
    "RETENTION_ALLOW_SHORTENING",
    "HOLD_RELEASE_TWO_PERSON",
    "HOLD_RELEASE_REQUEST_HOURS",
    "LOG_FORMAT",
    "NOTIFY_TEAMS_URL",
    "NOTIFY_SLACK_URL",
    "NOTIFY_WEBHOOK_URL",
    "NOTIFY_WEBHOOK_SECRET",
    "NOTIFY_ROUTES",
    "NOTIFY_INCLUDE_PII",
    "NOTIFY_ALLOW_INSECURE_LOOPBACK",
    "NOTIFY_TIMEOUT_MS",
    "NOTIFY_BUDGET_MS",
    "NOTIFY_MAX_DEQUEUE",
    "CATALOGUE_BASE_URL",
    "AUDIT_TAIL_MAX_BYTES",
    "AUDIT_TAIL_MAX_RECORDS",
    "AUDIT_TAIL_CHUNK_BYTES",
    "AUDIT_TAIL_BUDGET_SECONDS",
    "AUDIT_MAX_LINE_BYTES",
    "AUDIT_TAIL_WINDOW_HOURS",
    "UNRECORDED_GRACE_MINUTES",
    "SESSION_MAX_HOURS",
    "STALLED_AFTER_HOURS",
    "FAILED_LOGIN_THRESHOLD",
    "FAILED_LOGIN_WINDOW_MINUTES",
    "RECORDING_UPLOAD_LAG_MINUTES",
    "RECORDING_MIN_BYTES",
    "RECORDING_VOUCH_LAG_HOURS",
    "OPEN_SESSION_MAX_HOURS",
    "RECORDING_SESSION_WAIT_MINUTES",
    "RECONCILE_WINDOW_HOURS",
    "CATALOGUE_AUTH",
    "CATALOGUE_JWT_AUTHORITY",
    "CATALOGUE_JWT_AUDIENCE",
    "CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK",
    "CATALOGUE_MAX_RANGE_DAYS",
    "CATALOGUE_DOWNLOAD_LINKS",
    "CATALOGUE_LINK_MINUTES",
    "CATALOGUE_EVIDENCE_BUILDS",
    "HEALTH_HEARTBEAT_SECONDS",
    "HEALTH_TAIL_LAG_MINUTES",
    "INTEGRITY_VERIFY_SAMPLE",
    "STORAGE_TRY_TIMEOUT_MS",
    "STORAGE_TIMEOUT_MS",
    "REVIEW_WORKING_HOURS",
    "REVIEW_DEADLINE_HOURS",
    "REVIEW_LONG_SESSION_MINUTES",
    "BASTION_HOSTS",
    "ARM_ENDPOINT",
    "BASTION_DISCONNECT",
    "RECORDINGS_ACCOUNT_IDS",
    "ESTATE_AUDIT_SILENCE_HOURS",
    "BYPASS_VM_LOOKBACK_DAYS",
    "BYPASS_SCOPES",
    "BYPASS_INTERNAL_LEVEL",
    "BYPASS_EXTENSION_ALLOW",
    "SENTINEL_INGESTION_ENDPOINT",
    "SENTINEL_DCR_IMMUTABLE_ID",
    "CUSTODY_WORKSPACE_ID",
    "CUSTODY_ACTOR_WAIT_MINUTES",
    "GRAPH_ENDPOINT",
    "AUTHZ_TICKET_PATTERN",
    "SHARED_ACCOUNT_DAYS",
    "AUTHZ_ENFORCE",
    "AUTHZ_GRACE_MINUTES",
    "AUTHZ_PIM_GROUPS",
    "AUTHZ_SIGNIN_MFA",
];

/// Read by the code but deliberately absent from the Bicep app settings.
const NOT_IN_AZURE: &[(&str, &str)] = &[
    (
        "FUNCTIONS_CUSTOMHANDLER_PORT",
        "set by the Functions host when it starts the handler",
    ),
    (
        "LOG_FORMAT",
        "JSON logs are already chosen whenever the Functions host runs the handler",
    ),
    (
        "NOTIFY_ALLOW_INSECURE_LOOPBACK",
        "lets tests post to http loopback receivers; must never be enabled in Azure",
    ),
    (
        "CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK",
        "lets tests use an http loopback token authority; must never be enabled in Azure",
    ),
];

/// Read by the code but deliberately absent from `local.settings.example.json`.
const NOT_IN_LOCAL: &[(&str, &str)] = &[(
    "FUNCTIONS_CUSTOMHANDLER_PORT",
    "set by Core Tools when it starts the handler",
)];

/// Configured in Bicep for the platform, never read by the handler.
const HOST_ONLY_AZURE: &[(&str, &str)] = &[
    (
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "the Functions host's telemetry target",
    ),
    (
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "Entra auth for telemetry (local auth is disabled)",
    ),
    (
        "MIMALLOC_ALLOW_THP",
        "read by the handler's allocator at process start, not by its code",
    ),
];

/// Configured locally for Core Tools, never read by the handler (on Flex it is functionAppConfig.runtime).
const HOST_ONLY_LOCAL: &[(&str, &str)] = &[(
    "FUNCTIONS_WORKER_RUNTIME",
    "makes Core Tools start the custom handler",
)];

/// Identity-based connection suffixes understood by the Functions host (and `StorageConnection`).
const IDENTITY_SUFFIXES: &[&str] = &[
    "accountName",
    "blobServiceUri",
    "queueServiceUri",
    "tableServiceUri",
    "credential",
    "clientId",
];

const BEGIN: &str = "// app-settings:begin";
const END: &str = "// app-settings:end";

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The setting names between the markers.
fn parse_bicep_settings(text: &str) -> Result<Vec<String>, String> {
    Ok(parse_bicep_pairs(text)?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}

/// The settings between the markers, with their value expressions: one `NAME: value` per line,
/// `//` comments allowed.
fn parse_bicep_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let start = text
        .find(BEGIN)
        .ok_or("no `// app-settings:begin` marker")?
        + BEGIN.len();
    let len = text[start..]
        .find(END)
        .ok_or("no `// app-settings:end` marker")?;
    let mut names = Vec::new();
    for line in text[start..start + len]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
    {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("not `NAME: value`: {line}"))?;
        let name = name.trim().trim_matches('\'');
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || value.trim().is_empty()
        {
            return Err(format!("not `NAME: value`: {line}"));
        }
        names.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(names)
}

/// The `Values` of a `local.settings.json`: (name, value).
fn parse_local_settings(text: &str) -> Result<Vec<(String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v.get("IsEncrypted") != Some(&serde_json::Value::Bool(false)) {
        return Err("IsEncrypted must be false".into());
    }
    let values = v
        .get("Values")
        .and_then(|v| v.as_object())
        .ok_or("no Values object")?;
    values
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => Ok((k.clone(), v.to_owned())),
            None => Err(
                "every value must be a string (Core Tools exports them as environment variables)"
                    .to_owned(),
            ),
        })
        .collect()
}

/// Problems with one configured key set: `NAME__suffix` keys stand for `NAME` (identity connections).
/// `named` are the connection settings the source lists name: configured, they are read; named but
/// not configured, the handler would refuse to start.
fn drift(
    configured: &[String],
    named: &[String],
    exempt: &[(&str, &str)],
    host_only: &[(&str, &str)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut identity = BTreeSet::new();
    for key in configured {
        if !seen.insert(key.as_str()) {
            problems.push(format!("{key}: configured twice"));
        }
        if let Some((name, suffix)) = key.split_once("__") {
            if !IDENTITY_SUFFIXES.contains(&suffix) {
                problems.push(format!("{key}: unknown identity suffix"));
            }
            identity.insert(name);
        }
    }
    for name in &identity {
        let has_endpoint = ["accountName", "blobServiceUri"]
            .iter()
            .any(|s| seen.contains(format!("{name}__{s}").as_str()));
        if !has_endpoint {
            problems.push(format!(
                "{name}: identity connection without __accountName or __blobServiceUri"
            ));
        }
    }
    let names: BTreeSet<&str> = seen
        .iter()
        .map(|k| k.split_once("__").map_or(*k, |(n, _)| n))
        .collect();
    for s in SETTINGS
        .iter()
        .filter(|s| !exempt.iter().any(|(e, _)| e == *s))
    {
        if !names.contains(s) {
            problems.push(format!("{s}: read by the code but not configured"));
        }
    }
    for n in named.iter().filter(|n| !names.contains(n.as_str())) {
        problems.push(format!("{n}: named in a source list but not configured"));
    }
    for n in names.iter().filter(|n| {
        !SETTINGS.contains(n)
            && !host_only.iter().any(|(h, _)| h == *n)
            && !named.iter().any(|c| c == *n)
    }) {
        problems.push(format!(
            "{n}: configured but never read by the code (nor a documented host setting)"
        ));
    }
    for (e, _) in exempt.iter().filter(|(e, _)| names.contains(e)) {
        problems.push(format!("{e}: exempt from this file but configured anyway"));
    }
    problems
}

#[test]
fn bicep_app_settings_match_the_code() {
    let text = read("infra/modules/functionapp.bicep");
    let names = parse_bicep_settings(&text).expect("parse Bicep app settings");
    // The lists are expressions here: the fixed connections their entries name count as read; the
    // generated ones are checked by `sources`.
    let named = sources::bicep_connections(&text);
    let problems = drift(&names, &named, NOT_IN_AZURE, HOST_ONLY_AZURE);
    assert!(
        problems.is_empty(),
        "infra/modules/functionapp.bicep drifted:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn local_settings_example_matches_the_code() {
    let values = parse_local_settings(&read("local.settings.example.json"))
        .expect("parse local.settings.example.json");
    let names: Vec<String> = values.iter().map(|(k, _)| k.clone()).collect();
    let problems = drift(
        &names,
        &sources::named_connections(&values),
        NOT_IN_LOCAL,
        HOST_ONLY_LOCAL,
    );
    assert!(
        problems.is_empty(),
        "local.settings.example.json drifted:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn bicep_uses_identity_connections_and_never_keys() {
    let text = read("infra/modules/functionapp.bicep");
    let names = parse_bicep_settings(&text).expect("parse");
    for conn in [
        "AzureWebJobsStorage",
        "RECORDINGS_STORAGE",
        "AUDITLOGS_STORAGE",
    ] {
        assert!(
            !names.iter().any(|n| n == conn),
            "{conn} must be identity-based, not a connection string"
        );
        assert!(
            names.iter().any(|n| n == &format!("{conn}__accountName")),
            "{conn}__accountName missing"
        );
    }
    assert!(
        !text.contains("listKeys") && !text.to_ascii_lowercase().contains("accountkey"),
        "no account keys in app settings"
    );
}

#[test]
fn exemptions_name_real_settings_and_carry_reasons() {
    for (name, reason) in NOT_IN_AZURE.iter().chain(NOT_IN_LOCAL) {
        assert!(
            SETTINGS.contains(name),
            "exemption for {name}, which the code no longer reads"
        );
        assert!(reason.len() > 10, "{name}: exemption without a reason");
    }
    let unique: BTreeSet<_> = SETTINGS.iter().collect();
    assert_eq!(unique.len(), SETTINGS.len(), "SETTINGS lists a name twice");
}

// The checker itself must be able to fail.
#[test]
fn drift_reports_missing_unknown_duplicate_and_half_configured_settings() {
    let mut keys: Vec<String> = SETTINGS
        .iter()
        .filter(|s| **s != "TABLE_PREFIX")
        .map(|s| (*s).to_owned())
        .collect();
    keys.push("NOT_A_SETTING".into());
    keys.push("RETENTION_POLICY".into());
    keys.push("AUDITLOGS_STORAGE__credential".into());
    keys.push("AUDITLOGS_STORAGE__password".into());
    let problems = drift(&keys, &[], &[], &[]).join("\n");
    for needle in [
        "TABLE_PREFIX: read by the code but not configured",
        "NOT_A_SETTING: configured but never read",
        "RETENTION_POLICY: configured twice",
        "AUDITLOGS_STORAGE: identity connection without",
        "AUDITLOGS_STORAGE__password: unknown identity suffix",
    ] {
        assert!(
            problems.contains(needle),
            "{needle} not reported in:\n{problems}"
        );
    }
    let exempt = drift(&keys, &[], &[("LOG_FORMAT", "test")], &[]).join("\n");
    assert!(exempt.contains("LOG_FORMAT: exempt from this file but configured anyway"));
}

#[test]
fn bicep_parser_rejects_malformed_blocks() {
    assert!(
        parse_bicep_settings("var x = {}").is_err(),
        "missing markers"
    );
    assert!(
        parse_bicep_settings("// app-settings:begin\n  FOO\n// app-settings:end").is_err(),
        "no colon"
    );
    assert!(
        parse_bicep_settings("// app-settings:begin\n  'A-B': x\n// app-settings:end").is_err(),
        "bad name"
    );
    let ok = parse_bicep_settings(
        "// app-settings:begin\n  // note\n  A_B: 'x'\n  C__accountName: name\n// app-settings:end",
    )
    .expect("ok");
    assert_eq!(ok, vec!["A_B".to_owned(), "C__accountName".to_owned()]);
}
