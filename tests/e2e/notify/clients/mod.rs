//! What Teams, Slack and a Standard Webhooks receiver see, checked by their own libraries on the
//! real handler's output (`TEST_UI=1`, set by scripts/test.sh after scripts/browser.sh and
//! scripts/pytools.sh).
//!
//! Every notification type (hostile and very long values, [`samples`]) goes through
//! `NotifyWebhook` to the loopback receiver; then one Python process (`tests/clients/check.py`:
//! `slack_sdk` block models and Slack's documented limits, `standardwebhooks` verification with
//! both rotated keys in `whsec_` and bare form, data byte for byte) and one Node process
//! (`tests/ui/cards.mjs`: the Adaptive Cards renderer in headless Chromium, as Teams renders)
//! check everything that was delivered. Screenshots land in target/ui/cards/.

mod samples;

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

/// Runs `program args…` in `dir`, bounded: its stdout, or what went wrong unless it ended well
/// with `ok_line`.
async fn run(program: &str, args: &[&str], dir: &str, ok_line: &str) -> Result<String, String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .unwrap_or_else(|_| panic!("{program} finished in time"))
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.success() && stdout.contains(ok_line) {
        true => Ok(stdout),
        false => Err(format!("{program} {args:?} failed:\n{stdout}\n{stderr}")),
    }
}

/// What is wrong with the links of the Teams card of `sent`: each leads to the timeline page, to
/// the portal exactly when a Bastion resource id is known, never to a JSON endpoint.
fn link_failures(sent: &Value, card: &Value) -> Vec<String> {
    let urls: Vec<&str> = card["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["url"].as_str())
        .collect();
    let portal = sent["data"].get("bastionResourceId").is_some();
    let checks = [
        urls.iter()
            .any(|u| u.starts_with("https://func.example.net/api/ui?from=")),
        urls.iter()
            .any(|u| u.starts_with("https://portal.azure.com/"))
            == portal,
        urls.iter().all(|u| !u.contains("/recordings/")),
    ];
    match checks.iter().all(|ok| *ok) {
        true => Vec::new(),
        false => vec![format!("{}: links {urls:?}", sent["type"])],
    }
}

#[tokio::test]
async fn every_type_passes_teams_slack_and_standard_webhooks_libraries() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!("skipping: TEST_UI is not 1 (scripts/test.sh installs the clients and sets it)");
        return;
    }
    let rx = Receiver::start().await;
    let h = spawn(&env(&rx, &[])).await;
    let sent = samples::all();
    for (n, _) in &sent {
        let (status, body) = h.invoke("NotifyWebhook", &invocation(n, 1)).await;
        assert_eq!(status, 200, "{body}");
    }
    // Invocations deliver before they answer, so each receiver saw the types in sending order.
    let (teams, slack, hook) = (
        rx.hits(TEAMS),
        rx.hits(&format!("{SLACK}/{SLACK_TOKEN}")),
        rx.hits(HOOK),
    );
    assert!([teams.len(), slack.len(), hook.len()] == [sent.len(); 3]);
    let kind = |i: usize| sent[i].0["type"].clone();
    let mut failures: Vec<String> = teams
        .iter()
        .enumerate()
        .flat_map(|(i, t)| link_failures(&sent[i].0, &t.json()["attachments"][0]["content"]))
        .collect();
    let root = env!("CARGO_MANIFEST_DIR");
    let doc = std::fs::read_to_string(format!("{root}/docs/notifications.md")).expect("doc");
    for (n, _) in &sent {
        let row = format!("| `{}` |", n["type"].as_str().expect("type"));
        assert!(doc.contains(&row), "docs/notifications.md lists {row}");
    }
    let dir = format!("{root}/target/ui");
    std::fs::create_dir_all(&dir).expect("target/ui");
    let payloads = json!({
        "sent": sent.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "slack": slack.iter().enumerate().map(|(i, s)| json!({"type": kind(i), "body": s.json()})).collect::<Vec<_>>(),
        "webhook": hook.iter().enumerate().map(|(i, w)| json!({
            "type": kind(i), "headers": w.headers, "body": String::from_utf8_lossy(&w.body),
        })).collect::<Vec<_>>(),
        "secrets": [SECRET, ROTATED],
        "hostile": samples::SLACK_MARKUP,
    });
    let cards: Vec<Value> = teams
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"type": kind(i), "card": t.json()["attachments"][0]["content"], "mustShow": sent[i].1}))
        .collect();
    let (payloads_path, cards_path) = (format!("{dir}/clients.json"), format!("{dir}/cards.json"));
    std::fs::write(&payloads_path, payloads.to_string()).expect("clients.json");
    std::fs::write(&cards_path, Value::from(cards).to_string()).expect("cards.json");

    let python = format!("{root}/.tools/venv/bin/python");
    let checked = run(
        &python,
        &["tests/clients/check.py", &payloads_path],
        root,
        "clients: ok",
    )
    .await;
    let shots = format!("{dir}/cards");
    let ui = format!("{root}/tests/ui");
    let rendered = run(
        "node",
        &["cards.mjs", &cards_path, &shots],
        &ui,
        "cards: ok",
    )
    .await;
    // Every client runs whatever the others found, so one run lists every finding.
    for out in [checked, rendered] {
        match out {
            Ok(stdout) => print!("{stdout}"),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
