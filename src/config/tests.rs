//! Reading every setting at once: defaults, fallbacks, and one message naming every bad one.

use super::*;

fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_lookup(&crate::testkit::maps::lookup(pairs))
}

#[test]
fn defaults_and_fallback_connections() {
    let c = cfg(&[
        ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "0"),
    ])
    .expect("ok");
    assert_eq!(c.port, 0);
    let recordings = &c.sources.recordings[0];
    assert_eq!(recordings.container, "recordings");
    assert_eq!(
        recordings.conn.as_ref(),
        Some(&c.storage.app),
        "the default source is on AzureWebJobsStorage"
    );
}

/// Each case: the settings, the names the one start-up error must give, values it must not show.
type Refused<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a [&'a str]);

#[test]
fn every_problem_is_reported_at_once_without_values() {
    let cases: [Refused<'_>; 2] = [
        (
            &[
                ("FUNCTIONS_CUSTOMHANDLER_PORT", "eighty"),
                ("RECORDINGS_CONTAINER", "Bad_Name"),
                (
                    "RECORDINGS_STORAGE",
                    "AccountName=a;AccountKey=topsecret;BlobEndpoint=::",
                ),
                ("TABLE_PREFIX", "has-dash"),
            ],
            &[
                "FUNCTIONS_CUSTOMHANDLER_PORT",
                "RECORDINGS_CONTAINER",
                "RECORDINGS_STORAGE",
                "AzureWebJobsStorage",
                "TABLE_PREFIX",
            ],
            &["topsecret"],
        ),
        // Domain settings fail start-up together.
        (
            &[
                ("AzureWebJobsStorage__accountName", "acct"),
                ("AUDIT_TAIL_MAX_RECORDS", "abc"),
                ("CATALOGUE_MAX_RANGE_DAYS", "9999"),
                ("HEALTH_HEARTBEAT_SECONDS", "nope"),
                ("INTEGRITY_VERIFY_SAMPLE", "-3"),
                ("NOTIFY_TIMEOUT_MS", "soon"),
            ],
            &[
                "AUDIT_TAIL_MAX_RECORDS",
                "CATALOGUE_MAX_RANGE_DAYS",
                "HEALTH_HEARTBEAT_SECONDS",
                "INTEGRITY_VERIFY_SAMPLE",
                "NOTIFY_TIMEOUT_MS",
            ],
            &[": abc", ": 9999", ": nope", ": -3", ": soon"],
        ),
    ];
    for (pairs, named, hidden) in cases {
        let text = cfg(pairs).expect_err("invalid").to_string();
        for needle in named {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        for value in hidden {
            assert!(!text.contains(value), "{value} shown in {text}");
        }
    }
}

#[test]
fn recording_account_ids_are_resource_ids_or_a_start_up_error_naming_the_setting() {
    let id =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/strec";
    let ok = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("RECORDINGS_ACCOUNT_IDS", &format!(" {id} ,,{id}/")),
    ])
    .expect("ok");
    assert_eq!(ok.estate.recording_accounts, [id]);
    assert_eq!(ok.estate.account_id("STREC"), Some(id));
    assert_eq!(ok.estate.account_id("other"), None);
    let secret = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/secretacct";
    let text = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("RECORDINGS_ACCOUNT_IDS", &format!("{id},{secret}")),
    ])
    .expect_err("malformed")
    .to_string();
    assert!(text.contains("RECORDINGS_ACCOUNT_IDS"), "{text}");
    assert!(
        !text.contains("secretacct"),
        "the value is not shown: {text}"
    );
}

#[test]
fn the_estate_watches_the_hosts_the_sources_name_by_id_unless_bastion_hosts_says_none() {
    let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bas-1";
    let sources = format!("AzureWebJobsStorage:rec@{id}");
    let base = [
        ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
        ("RECORDINGS_SOURCES", sources.as_str()),
    ];
    let c = cfg(&base).expect("ok");
    assert_eq!(c.estate.hosts, [id], "by default, the sources' hosts");
    for off in ["none", " None "] {
        let c = cfg(&[base[0], base[1], ("BASTION_HOSTS", off)]).expect("ok");
        assert!(c.estate.hosts.is_empty(), "{off:?}: the checks are off");
        assert_eq!(c.sources.recordings[0].bastion_id.as_deref(), Some(id));
    }
}

#[test]
fn the_bypass_settings_default_to_90_days_and_no_scope_and_a_bad_one_names_each_setting() {
    let c = cfg(&[("AzureWebJobsStorage__accountName", "acct")]).expect("defaults");
    assert_eq!(c.estate.bypass_lookback, time::Duration::days(90));
    assert!(c.estate.bypass_scopes.is_empty());
    use crate::estate::findings::Level;
    assert_eq!(c.estate.bypass_internal_level, Level::Medium);
    let high = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("BYPASS_INTERNAL_LEVEL", " High "),
    ]);
    assert_eq!(high.expect("ok").estate.bypass_internal_level, Level::High);
    let bad = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("BYPASS_INTERNAL_LEVEL", "loud"),
    ]);
    assert!(
        bad.expect_err("bad")
            .to_string()
            .contains("BYPASS_INTERNAL_LEVEL")
    );
    let c = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("BYPASS_VM_LOOKBACK_DAYS", "30"),
        (
            "BYPASS_SCOPES",
            " /subscriptions/S1/ ,,/subscriptions/s1/resourceGroups/RG-App,/subscriptions/s1",
        ),
    ])
    .expect("ok");
    assert_eq!(c.estate.bypass_lookback, time::Duration::days(30));
    assert_eq!(
        c.estate.bypass_scopes,
        [
            "/subscriptions/s1",
            "/subscriptions/s1/resourcegroups/rg-app"
        ]
    );
    let text = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("BYPASS_VM_LOOKBACK_DAYS", "0"),
        (
            "BYPASS_SCOPES",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/secretvm",
        ),
    ])
    .expect_err("both bad")
    .to_string();
    assert!(text.contains("BYPASS_VM_LOOKBACK_DAYS"), "{text}");
    assert!(text.contains("BYPASS_SCOPES"), "{text}");
    assert!(!text.contains("secretvm"), "the value is not shown: {text}");
}

#[test]
fn a_flag_reads_alike_in_every_setting_that_uses_it() {
    let base = [
        ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
        ("LOGANALYTICS_ENDPOINT", "http://127.0.0.1:9/"),
        ("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
        (
            "NOTIFY_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ];
    for yes in ["1", "TRUE", "true"] {
        let mut pairs = base.to_vec();
        pairs.extend([
            ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", yes),
            ("NOTIFY_ALLOW_INSECURE_LOOPBACK", yes),
        ]);
        let c = cfg(&pairs).expect("loopback http allowed by either spelling");
        assert_eq!(
            c.workspaces.endpoint.map(String::from).as_deref(),
            Some("http://127.0.0.1:9/")
        );
    }
    let mut pairs = base.to_vec();
    pairs.extend([
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "yes-please"),
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "on"),
        ("RETENTION_DRY_RUN", "maybe"),
    ]);
    let text = cfg(&pairs)
        .expect_err("a flag is true or false")
        .to_string();
    for name in [
        "NOTIFY_ALLOW_INSECURE_LOOPBACK: expected true or false",
        "RETENTION_DRY_RUN: expected true or false",
        // The API's flag reads as false for the pipeline (the API reports it, start-up goes on):
        "LOGANALYTICS_ENDPOINT: plain http is refused",
    ] {
        assert_eq!(text.matches(name).count(), 1, "{name} once in {text}");
    }
    assert!(
        !text.contains("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK: expected"),
        "{text}"
    );
    assert!(
        !text.contains("yes-please") && !text.contains("maybe"),
        "{text}"
    );
}

#[test]
fn a_typo_in_the_connection_string_is_one_sentence_naming_the_setting() {
    let cs = "DefaultEndpointsProtocol=http;AcountName=devstoreaccount1;AccountKey=S3CRETKEYVALUE==;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1";
    let e = cfg(&[("AzureWebJobsStorage", cs)]).expect_err("typo");
    let text = e.to_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!text.contains("not set"), "{text}");
    assert!(!text.contains("S3CRET"), "{text}");
    assert!(
        text.contains("AzureWebJobsStorage: the connection string has no AccountName")
            && text.contains("AcountName"),
        "{text}"
    );
    // Unset is still said as such.
    let unset = cfg(&[]).expect_err("unset").to_string();
    assert!(unset.contains("AzureWebJobsStorage: not set"), "{unset}");
}

#[test]
fn the_extension_allow_list_defaults_to_the_agents_none_empties_it_and_a_bad_entry_names_it() {
    let c = cfg(&[("AzureWebJobsStorage__accountName", "acct")]).expect("defaults");
    assert!(
        c.estate
            .extension_allow
            .contains(&"microsoft.azure.monitor/azuremonitorlinuxagent".to_owned())
    );
    assert!(
        !c.estate
            .extension_allow
            .iter()
            .any(|e| e.contains("customscript"))
    );
    let c = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("BYPASS_EXTENSION_ALLOW", "none"),
    ])
    .expect("ok");
    assert!(c.estate.extension_allow.is_empty());
    let c = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        (
            "BYPASS_EXTENSION_ALLOW",
            " Contoso.Agents/Inventory ,, contoso.agents/inventory",
        ),
    ])
    .expect("ok");
    assert_eq!(c.estate.extension_allow, ["contoso.agents/inventory"]);
    let text = cfg(&[
        ("AzureWebJobsStorage__accountName", "acct"),
        ("BYPASS_EXTENSION_ALLOW", "CustomScript"),
    ])
    .expect_err("no publisher")
    .to_string();
    assert!(text.contains("BYPASS_EXTENSION_ALLOW"), "{text}");
}
