//! Errors point the right way: each says what is wrong in one sentence naming the setting, never
//! a secret's value.

use std::time::Duration;

use super::{dead_storage, handler, said};
use crate::devhost::Devhost;
use crate::harness::{self, HandlerProcess};

/// A well-formed key that is not the account's (base64 of "wrongkeywrongkeywrongkey").
const WRONG_KEY: &str = "d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5";

fn with_key(cs: &str, key: &str) -> String {
    cs.split(';')
        .map(|p| {
            if p.starts_with("AccountKey=") {
                format!("AccountKey={key}")
            } else {
                p.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[tokio::test]
async fn a_wrong_account_key_is_an_authentication_failure_not_a_missing_role() {
    let Some(cs) = harness::azurite() else { return };
    let bad = with_key(&cs, WRONG_KEY);
    let env = [
        ("AzureWebJobsStorage", bad.as_str()),
        ("CATALOGUE_AUTH", "none"),
        ("TABLE_PREFIX", "firsthour"),
    ];
    let (code, out, err) = handler(
        &[
            "catalogue",
            "query",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-01",
        ],
        &env,
    );
    assert_eq!(code, Some(1), "{out}{err}");
    let words = said(&err);
    assert_eq!(words.len(), 1, "one sentence: {err}");
    assert!(
        words[0].starts_with(
            "query failed: authentication failed: the storage account refused the credentials of AzureWebJobsStorage"
        ),
        "{err}"
    );
    assert!(
        !err.contains("missing role") && !err.contains(WRONG_KEY),
        "{err}"
    );

    // The server logs the same, and answers 503 without detail.
    let h = HandlerProcess::spawn(&env).await;
    let (status, _) = h
        .get_json("/api/recordings?from=2026-01-01&to=2026-01-01")
        .await;
    assert_eq!(status, 503);
    h.wait_log("authentication failed").await;
    let (status, v) = h.get_json("/api/health").await;
    assert_eq!(status, 503, "{v}");
    assert!(
        v["reason"].as_str().is_some_and(|r| r.starts_with(
            "authentication failed: the storage account refused the credentials of AzureWebJobsStorage"
        )),
        "{v}"
    );
    let log = h.log_text();
    assert!(
        !log.contains("missing role") && !log.contains(WRONG_KEY),
        "{log}"
    );
}

#[test]
fn a_typo_in_a_connection_string_is_one_sentence_naming_the_setting() {
    let cs =
        with_key(&dead_storage(), "S3CRETS3CRETS3CRET==").replace("AccountName=", "AcountName=");
    for args in [
        &[][..],
        &[
            "catalogue",
            "query",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-01",
        ][..],
    ] {
        let (code, out, err) = handler(
            args,
            &[
                ("AzureWebJobsStorage", &cs),
                ("FUNCTIONS_CUSTOMHANDLER_PORT", "0"),
            ],
        );
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line: {err}");
        assert!(
            lines[0].contains("AzureWebJobsStorage: the connection string has no AccountName")
                && lines[0].contains("AcountName"),
            "{err}"
        );
        assert!(!err.contains("not set") && !err.contains("S3CRET"), "{err}");
    }
}

/// Runs devhost over this app root and handler with only PATH and `env` until it exits (at most
/// 60 s): exit code and stderr.
fn devhost_alone(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(harness::devhost_bin())
        .args(["--app-root", env!("CARGO_MANIFEST_DIR")])
        .args(["--handler", env!("CARGO_BIN_EXE_handler")])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DEVHOST_PORT", "0")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("devhost");
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > give_up {
            let _ = child.kill();
            panic!("devhost did not stop on a setting that stops the handler");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("stderr");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), err)
}

#[test]
fn through_devhost_a_typo_or_a_missing_storage_setting_is_said_once() {
    let cs =
        with_key(&dead_storage(), "S3CRETS3CRETS3CRET==").replace("AccountName=", "AcountName=");
    let (code, err) = devhost_alone(&[("AzureWebJobsStorage", &cs)]);
    assert!(code.is_some_and(|c| c != 0), "{err}");
    let typo: Vec<&str> = err.lines().filter(|l| l.contains("AcountName")).collect();
    assert_eq!(
        typo,
        [
            "devhost: AzureWebJobsStorage: the connection string has no AccountName (a misspelt key? it has AcountName for AccountName)"
        ],
        "{err}"
    );
    assert!(!err.contains("S3CRET"), "{err}");

    let (code, err) = devhost_alone(&[]);
    assert!(code.is_some_and(|c| c != 0), "{err}");
    let missing: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("AzureWebJobsStorage"))
        .collect();
    assert_eq!(missing.len(), 1, "{err}");
    assert!(
        missing[0].ends_with("handler failed to start: invalid configuration: AzureWebJobsStorage: not set (a connection string or AzureWebJobsStorage__accountName)"),
        "{err}"
    );
    assert!(
        err.contains("the handler refused to start (exit code 2, reason above); not restarting it"),
        "{err}"
    );
}

#[tokio::test]
async fn with_storage_down_health_reports_what_is_down() {
    let cs = dead_storage();
    let h = HandlerProcess::spawn(&[
        ("AzureWebJobsStorage", cs.as_str()),
        ("CATALOGUE_AUTH", "none"),
        ("STORAGE_TRY_TIMEOUT_MS", "500"),
        ("STORAGE_TIMEOUT_MS", "1000"),
    ])
    .await;
    let (status, v) = h.get_json("/api/health").await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["tables"], false, "{v}");
    assert_eq!(v["blobs"], false, "the blobs are down too: {v}");
    assert_eq!(
        v["reason"],
        "the app's storage (AzureWebJobsStorage) does not answer: tables and blobs (or queues)"
    );
}

#[tokio::test]
async fn a_port_clash_names_the_port_and_the_setting() {
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let (code, _, err) = handler(
        &[],
        &[
            ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
            ("FUNCTIONS_CUSTOMHANDLER_PORT", &port),
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "port {port} (FUNCTIONS_CUSTOMHANDLER_PORT) is already in use"
        )),
        "{err}"
    );
    let out = std::process::Command::new(harness::devhost_bin())
        .args(["--app-root", env!("CARGO_MANIFEST_DIR")])
        .args(["--handler", env!("CARGO_BIN_EXE_handler")])
        .env_clear()
        .env("DEVHOST_PORT", &port)
        .env("DEVHOST_WATCH", "")
        .output()
        .expect("devhost");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("port {port} (DEVHOST_PORT) is already in use")),
        "{err}"
    );
    drop(taken);
}

#[tokio::test]
async fn devhost_backs_off_while_storage_is_down_and_names_the_setting() {
    let cs = dead_storage();
    let mut d = Devhost::spawn(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        Some(env!("CARGO_BIN_EXE_handler")),
        &[
            ("AzureWebJobsStorage", cs.as_str()),
            ("CATALOGUE_AUTH", "none"),
            ("DEVHOST_POLL_MS", "100"),
            ("DEVHOST_QUEUE_POLL_MS", "100"),
            (
                "DEVHOST_WATCH",
                "RecordingCreated=AzureWebJobsStorage:recordings",
            ),
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let log = d.log_text();
    d.stop().await;
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("devhost watch container=recordings") && l.contains("does not answer")
        })
        .collect();
    // Polled every 100 ms without backing off: about 40 lines in 4 s; doubling waits: at most 6.
    assert!(
        (1..=6).contains(&failed.len()),
        "{} lines: {failed:#?}",
        failed.len()
    );
    assert!(
        failed[0].contains("the blob storage of AzureWebJobsStorage")
            && failed[0].contains("next try in"),
        "{}",
        failed[0]
    );
    assert!(!log.contains(bastion_recordings::azure::connection::DEV_KEY));
}
