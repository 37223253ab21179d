use super::*;

const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn cfg(pairs: &[(&str, &str)]) -> Result<NotifyConfig, Vec<String>> {
    let (c, errors) = crate::setting::read_pairs(pairs, NotifyConfig::from_reader);
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(errors)
    }
}

#[test]
fn nothing_configured_is_valid_and_defaults_apply() {
    let c = cfg(&[]).expect("ok");
    assert_eq!(c, NotifyConfig::default());
    assert!(Destination::ALL.iter().all(|d| c.endpoint(*d).is_none()));
    assert_eq!(c.max_dequeue, 5);
    assert_eq!(c.timeout, Duration::from_secs(10));
}

#[test]
fn https_destinations_and_rotated_keys() {
    let two = format!(
        "{KEY} whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    );
    let c = cfg(&[
        ("NOTIFY_TEAMS_URL", "https://prod.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SECRET"),
        ("NOTIFY_SLACK_URL", "https://hooks.slack.com/services/T0/B0/XYZ"),
        ("NOTIFY_WEBHOOK_URL", "https://example.com/hook"),
        ("NOTIFY_WEBHOOK_SECRET", &two),
        ("NOTIFY_INCLUDE_PII", "TRUE"),
        ("NOTIFY_TIMEOUT_MS", "2500"),
        ("NOTIFY_MAX_DEQUEUE", "3"),
        ("CATALOGUE_BASE_URL", "https://func.example.net/api/"),
    ])
    .expect("ok");
    assert_eq!(c.webhook_keys.len(), 2);
    assert_eq!(c.webhook_keys[1].0, vec![7u8; 32]);
    assert!(c.include_pii);
    assert_eq!(c.timeout, Duration::from_millis(2500));
    assert_eq!(c.max_dequeue, 3);
    assert_eq!(
        c.catalogue_base_url.as_deref(),
        Some("https://func.example.net/api")
    );
    let debug = format!("{c:?}");
    for secret in ["SECRET", "XYZ", "MfKQ9r8G", "hooks.slack.com"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

#[test]
fn http_only_for_loopback_when_allowed() {
    let err = cfg(&[("NOTIFY_SLACK_URL", "http://127.0.0.1:9/hook")]).expect_err("refused");
    assert!(err[0].contains("NOTIFY_ALLOW_INSECURE_LOOPBACK"), "{err:?}");
    let ok = cfg(&[
        ("NOTIFY_SLACK_URL", "http://127.0.0.1:9/hook"),
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true"),
    ]);
    assert!(ok.expect("loopback allowed").slack.is_some());
    let ok = cfg(&[
        ("NOTIFY_SLACK_URL", "http://[::1]:9/x"),
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true"),
    ]);
    assert!(ok.is_ok());
    for not_loopback in ["http://hooks.example.com/x", "http://localhost:9/x"] {
        let err = cfg(&[
            ("NOTIFY_SLACK_URL", not_loopback),
            ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true"),
        ]);
        assert!(err.expect_err("a name is not an address")[0].contains("https"));
    }
    for bad in [
        "ftp://x/y",
        "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)",
        "https://",
        "not a url",
    ] {
        assert!(cfg(&[("NOTIFY_TEAMS_URL", bad)]).is_err(), "{bad}");
    }
}

#[test]
fn every_problem_named_without_values() {
    let err = cfg(&[
        ("NOTIFY_TEAMS_URL", "http://teams.example.com/topsecretpath"),
        ("NOTIFY_WEBHOOK_URL", "https://example.com/hook"),
        ("NOTIFY_TIMEOUT_MS", "ten"),
        ("NOTIFY_BUDGET_MS", "5"),
        ("NOTIFY_MAX_DEQUEUE", "0"),
        ("NOTIFY_ROUTES", "/nonexistent/routes.toml"),
        ("CATALOGUE_BASE_URL", "catalogue"),
    ])
    .expect_err("invalid");
    let text = err.join("\n");
    for name in [
        "NOTIFY_TEAMS_URL",
        "NOTIFY_WEBHOOK_SECRET",
        "NOTIFY_TIMEOUT_MS",
        "NOTIFY_BUDGET_MS",
        "NOTIFY_MAX_DEQUEUE",
        "NOTIFY_ROUTES",
        "CATALOGUE_BASE_URL",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    assert!(
        !text.contains("topsecretpath") && !text.contains("/nonexistent"),
        "{text}"
    );
}

#[test]
fn secret_format_is_checked() {
    let url = ("NOTIFY_WEBHOOK_URL", "https://example.com/hook");
    for bad in [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_***",
        "whsec_AAAA",
        &format!("{KEY} whsec_!!"),
    ] {
        let err = cfg(&[url, ("NOTIFY_WEBHOOK_SECRET", bad)]).expect_err(bad);
        assert!(
            err[0].starts_with("NOTIFY_WEBHOOK_SECRET") && !err[0].contains("MfKQ"),
            "{err:?}"
        );
    }
    assert!(
        cfg(&[("NOTIFY_WEBHOOK_SECRET", KEY)]).is_err(),
        "secret without URL"
    );
}

#[test]
fn routes_file_is_read() {
    let path = std::env::temp_dir().join(format!("notify-routes-{}.toml", std::process::id()));
    std::fs::write(&path, "[slack]\nmin_severity = \"warning\"\n").expect("write");
    let c = cfg(&[("NOTIFY_ROUTES", path.to_str().expect("utf8"))]).expect("ok");
    assert_eq!(
        c.routes.route(Destination::Slack).min_severity,
        crate::notify::Severity::Warning
    );
    std::fs::write(&path, "[slack]\nmin_severity = \"loud\"\n").expect("write");
    assert!(
        cfg(&[("NOTIFY_ROUTES", path.to_str().expect("utf8"))]).expect_err("bad")[0]
            .starts_with("NOTIFY_ROUTES")
    );
    let _ = std::fs::remove_file(path);
}
