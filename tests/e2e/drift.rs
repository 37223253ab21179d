//! Drift between the function set (`functions/*/function.json`, `host.json`) and the handler:
//! every folder is a valid function name with the decided binding names, and the running handler
//! serves a route for it (payload mode: `POST /<Name>`; forwarded HTTP: `/api/...`).

use std::path::Path;

use serde_json::Value;

use crate::harness::HandlerProcess;

/// Every `functions/<Name>/function.json`, by folder name.
pub(crate) fn functions() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("functions");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("functions/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned();
            let text = std::fs::read_to_string(p.join("function.json"))
                .unwrap_or_else(|e| panic!("{name}/function.json: {e}"));
            (
                name,
                serde_json::from_str(&text).expect("function.json parses"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn trigger(f: &Value) -> (String, String) {
    let b = f["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .find(|b| b["type"].as_str().is_some_and(|t| t.ends_with("Trigger")))
        .expect("one trigger");
    (
        b["type"].as_str().expect("type").to_owned(),
        b["name"].as_str().expect("name").to_owned(),
    )
}

#[test]
fn names_and_bindings_follow_the_rules() {
    let fs = functions();
    assert!(!fs.is_empty());
    for (name, f) in &fs {
        assert!(
            name.len() <= 128 && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()),
            "{name}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !name.eq_ignore_ascii_case("host"),
            "{name}"
        );
        let bindings = f["bindings"].as_array().expect("bindings");
        assert_eq!(
            bindings
                .iter()
                .filter(|b| b["type"].as_str().is_some_and(|t| t.ends_with("Trigger")))
                .count(),
            1,
            "{name}: exactly one trigger"
        );
        let mut seen = std::collections::HashSet::new();
        for b in bindings {
            let n = b["name"].as_str().expect("binding name");
            assert!(
                n == "$return"
                    || (n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && n.chars().all(|c| c.is_ascii_alphanumeric())),
                "{name}: binding {n}"
            );
            assert!(
                seen.insert(n.to_ascii_lowercase()),
                "{name}: duplicate binding {n}"
            );
            if b["type"] == "queue" || b["type"] == "queueTrigger" {
                assert_eq!(
                    b["connection"], "AzureWebJobsStorage",
                    "{name}: queues live in the app's account"
                );
            }
        }
        let (kind, binding) = trigger(f);
        let expected = match kind.as_str() {
            "eventGridTrigger" => "eventGridEvent",
            "timerTrigger" => "timer",
            "queueTrigger" => "message",
            "httpTrigger" => "req",
            other => panic!("{name}: unexpected trigger {other}"),
        };
        assert_eq!(binding, expected, "{name}");
        if kind == "timerTrigger" {
            let schedule = bindings[0]["schedule"].as_str().expect("schedule");
            assert_eq!(
                schedule.split_whitespace().count(),
                6,
                "{name}: 6-field NCRONTAB (Windows Consumption rejects 5)"
            );
        }
        // Event Grid functions rely on Event Grid's own retries; the sweep, the weekly
        // verification and the monthly evidence pack have a host retry policy (a missed run would
        // wait a day, a week or a month).
        assert_eq!(
            f.get("retry").is_some(),
            name == "RetentionSweep" || name == "IntegrityVerify" || name == "EvidencePack",
            "{name}: retry block"
        );
    }
}

#[test]
fn host_json_pins_the_bundle_timeout_and_handler() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("host.json"))
        .expect("host.json");
    let h: Value = serde_json::from_str(&text).expect("parses");
    assert_eq!(h["version"], "2.0");
    assert_eq!(h["extensionBundle"]["version"], "[4.*, 5.0.0)");
    assert_eq!(
        h["customHandler"]["description"]["defaultExecutablePath"],
        "handler"
    );
    assert!(h["functionTimeout"].as_str().is_some());
    assert_eq!(h["extensions"]["queues"]["maxDequeueCount"], 5);
}

#[tokio::test]
async fn every_function_has_a_route_in_the_handler() {
    let h = HandlerProcess::spawn_in_memory(&[]).await;
    let client = reqwest::Client::new();
    let unknown = client
        .post(h.url("/NoSuchFunction"))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(
        unknown.status(),
        404,
        "unknown routes must 404 so this test can fail"
    );
    for (name, f) in functions() {
        let (kind, _) = trigger(&f);
        let res = if kind == "httpTrigger" {
            client.get(h.url("/api/health")).send().await.expect("get")
        } else {
            client
                .post(h.url(&format!("/{name}")))
                .body("{\"Data\":{},\"Metadata\":{}}")
                .send()
                .await
                .expect("post")
        };
        assert_ne!(res.status(), 404, "{name} has no route in the handler");
    }
}
