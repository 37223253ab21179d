//! Host-protocol conformance of the real `handler` process (the custom-handler contract's conformance points), over
//! in-memory stores: readiness, envelope encodings, response shape, poison, concurrency, start-up.

use serde_json::{Value, json};

use crate::harness::{HandlerProcess, first_log, fixture};

const FIXTURE_BLOB: &str = "PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";

fn memory(seed: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HANDLER_IN_MEMORY_ACCOUNT", "stbastrecweu01".into()),
        ("HANDLER_IN_MEMORY_SEED", seed.into()),
    ]
}

async fn spawn(seed: &str) -> HandlerProcess {
    let env = memory(seed);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    HandlerProcess::spawn_in_memory(&pairs).await
}

#[tokio::test]
async fn readiness_answers_get_root_at_once() {
    let h = spawn("").await;
    let res = reqwest::get(h.url("/")).await.expect("get /");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn fixture_invocation_is_processed_with_a_pascal_case_envelope() {
    let h = spawn(FIXTURE_BLOB).await;
    let (status, ct, text) = h
        .invoke_raw(
            "RecordingCreated",
            crate::harness::fixture_bytes("invocations/recording-created.invocation.json"),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(ct.starts_with("application/json"));
    let v: Value = serde_json::from_str(&text).expect("json");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["Logs", "Outputs", "ReturnValue"]);
    assert!(first_log(&v).starts_with("catalogued recording"), "{v}");
    let note = &v["Outputs"]["notifications"];
    assert!(
        note.is_object(),
        "queue outputs are JSON objects, never strings: {note}"
    );
    assert_eq!(note["type"], "recording.catalogued");
    // Redelivery: the row holds this event's state, so nothing proves the first delivery's outputs
    // were queued: it announces again, under the same stable id (the claim table delivers it once).
    let first_id = note["notificationId"].clone();
    let (status, v) = h
        .invoke(
            "RecordingCreated",
            &fixture("invocations/recording-created.invocation.json"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        v["Outputs"]["notifications"]["notificationId"], first_id,
        "{v}"
    );
}

#[tokio::test]
async fn event_as_json_string_and_cloudevents_are_accepted() {
    let h = spawn(&format!("{FIXTURE_BLOB},b")).await;
    let mut env = fixture("invocations/recording-created.invocation.json");
    let event = env["Data"]["eventGridEvent"].clone();
    env["Data"]["eventGridEvent"] = Value::String(event.to_string());
    let (status, v) = h.invoke("RecordingCreated", &env).await;
    assert_eq!(
        (status, first_log(&v).starts_with("catalogued")),
        (200, true),
        "{v}"
    );
    let mut ce = fixture("events/recording-created.cloudevents.json");
    ce["subject"] = json!("blobServices/default/containers/recordings/blobs/b");
    let (status, v) = h
        .invoke(
            "RecordingCreated",
            &json!({"Data": {"eventGridEvent": ce}, "Metadata": {}}),
        )
        .await;
    assert_eq!(
        (status, first_log(&v).starts_with("catalogued")),
        (200, true),
        "{v}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_poisoned_with_200_and_json() {
    let h = spawn("").await;
    for body in [
        &b"not json"[..],
        b"",
        b"[]",
        b"{\"Data\":\"x\"}",
        b"{\"Data\":{},\"Metadata\":{}}",
        b"{\"Data\":{\"eventGridEvent\":42}}",
    ] {
        let (status, ct, text) = h.invoke_raw("RecordingCreated", body.to_vec()).await;
        assert_eq!(status, 200, "{text}");
        assert!(ct.starts_with("application/json"), "{ct}");
        let v: Value = serde_json::from_str(&text).expect("json");
        assert!(first_log(&v).starts_with("poisoned"), "{v}");
        assert!(
            first_log(&v).contains("quarantined as quarantine/RecordingCreated/"),
            "{v}"
        );
    }
    h.wait_log("invocation poisoned").await;
}

#[tokio::test]
async fn unhandled_events_are_skipped() {
    let h = spawn("").await;
    // A deletion in the watched recordings container of a blob never catalogued is no unhandled
    // event: it is recorded and alerted (deleted before it was catalogued); the audit logs'
    // function has nothing to do with it.
    let deleted = json!({"Data": {"eventGridEvent": fixture("events/blob-deleted.cloudevents.json")}, "Metadata": {}});
    let (status, v) = h.invoke("RecordingCreated", &deleted).await;
    assert_eq!(status, 200);
    assert!(
        first_log(&v).starts_with("recording deleted before it was catalogued"),
        "{v}"
    );
    assert_eq!(
        v["Outputs"]["notifications"]["type"], "recording.deleted",
        "{v}"
    );
    let (status, v) = h.invoke("AuditLogCreated", &deleted).await;
    assert_eq!(status, 200);
    assert!(first_log(&v).starts_with("skipped"), "{v}");
    for event in [
        fixture("events/blob-tier-changed.eventgrid.json")[0].clone(),
        fixture("events/batched-delivery.eventgrid.json")[2].clone(),
        // Well-formed events of other types, with subjects and data that are not a blob's.
        fixture("events/inventory-completed.eventgrid.json"),
        fixture("events/lifecycle-completed.eventgrid.json"),
        fixture("events/custom-event.eventgrid.json"),
    ] {
        for function in ["RecordingCreated", "AuditLogCreated"] {
            let (status, v) = h
                .invoke(
                    function,
                    &json!({"Data": {"eventGridEvent": event}, "Metadata": {}}),
                )
                .await;
            assert_eq!(status, 200);
            assert!(first_log(&v).starts_with("skipped"), "{function}: {v}");
        }
    }
}

#[tokio::test]
async fn thirty_two_concurrent_invocations_all_succeed() {
    let h = spawn("c:32").await;
    let base = fixture("invocations/recording-created.invocation.json");
    let calls = (0..32).map(|i| {
        let mut env = base.clone();
        env["Data"]["eventGridEvent"]["subject"] = json!(format!(
            "/blobServices/default/containers/recordings/blobs/c{i}"
        ));
        let h = &h;
        async move { h.invoke("RecordingCreated", &env).await }
    });
    let results = futures::future::join_all(calls).await;
    for (status, v) in results {
        assert_eq!(status, 200);
        assert!(first_log(&v).starts_with("catalogued"), "{v}");
    }
}

#[tokio::test]
async fn misconfiguration_fails_start_up_with_every_problem_and_no_secret() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "not-a-port")
        .env("RECORDINGS_SOURCES", "REC:recordings")
        .env(
            "REC",
            "AccountName=a;AccountKey=c2VjcmV0LXZhbHVl;BlobEndpoint=::bad",
        )
        .env("AUDITLOGS_CONTAINER", "logs")
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for name in [
        "FUNCTIONS_CUSTOMHANDLER_PORT",
        "REC",
        "AzureWebJobsStorage",
        "AUDITLOGS_CONTAINER: no longer read; name the source in AUDITLOGS_SOURCES",
    ] {
        assert!(err.contains(name), "{name} not in {err}");
    }
    assert!(!err.contains("c2VjcmV0LXZhbHVl"));
}

#[tokio::test]
async fn bad_domain_settings_fail_start_up_too() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .env_clear()
        .env("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .env("AUDIT_TAIL_MAX_RECORDS", "abc")
        .env("CATALOGUE_MAX_RANGE_DAYS", "9999")
        .env("HEALTH_HEARTBEAT_SECONDS", "nope")
        .env("INTEGRITY_VERIFY_SAMPLE", "-3")
        .output()
        .await
        .expect("run");
    assert!(!out.status.success(), "started with bad settings");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("listening"), "served: {stdout}");
    let err = String::from_utf8_lossy(&out.stderr);
    for name in [
        "AUDIT_TAIL_MAX_RECORDS",
        "CATALOGUE_MAX_RANGE_DAYS",
        "HEALTH_HEARTBEAT_SECONDS",
        "INTEGRITY_VERIFY_SAMPLE",
    ] {
        assert!(err.contains(name), "{name} not in {err}");
    }
    for value in ["abc", "9999", "nope", "-3"] {
        assert!(!err.contains(&format!(": {value}")), "{value} in {err}");
    }
}

/// SIGTERM ends serving with exit 0, and every line queued for the log writer thread is written
/// before the process exits: a burst of invocations, then the signal at once.
#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    const BURST: usize = 40;
    let mut env = memory(&format!("burst:{BURST}"));
    env.push(("LOG_FORMAT", "json".into()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut h = HandlerProcess::spawn_in_memory(&pairs).await;
    let template = fixture("invocations/recording-created.invocation.json").to_string();
    let calls = (0..BURST).map(|i| {
        let body: Value =
            serde_json::from_str(&template.replace(FIXTURE_BLOB, &format!("burst{i}"))).unwrap();
        let h = &h;
        async move { h.invoke("RecordingCreated", &body).await.0 }
    });
    let statuses = futures::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let pid = h.child.id().expect("pid");
    let status = tokio::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(5), h.child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert_eq!(exit.code(), Some(0));
    // The pipe closes with the process; give the reader task its last lines.
    h.wait_log("shut down on signal").await;
    let text = h.log_text();
    let processed = text
        .lines()
        .filter(|l| l.contains("\"invocation processed\""))
        .count();
    assert_eq!(processed, BURST, "{text}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("shut down on signal")),
        "{text}"
    );
}

/// Under the host (`FUNCTIONS_WORKER_RUNTIME` set) every invocation logs one JSON line whose span
/// carries the invocation id, function, event id and blob, and which carries the outcome and
/// duration itself; the test waits a little for the line to reach the pipe.
#[tokio::test]
async fn json_logs_carry_the_invocation_span() {
    let mut env = memory(FIXTURE_BLOB);
    env.push(("FUNCTIONS_WORKER_RUNTIME", "custom".into()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let h = HandlerProcess::spawn_in_memory(&pairs).await;
    let (status, _) = h
        .invoke(
            "RecordingCreated",
            &fixture("invocations/recording-created.invocation.json"),
        )
        .await;
    assert_eq!(status, 200);
    h.wait_log("invocation processed").await;
    let text = h.log_text();
    let line = text
        .lines()
        .find(|l| l.contains("invocation processed"))
        .expect("waited for");
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let span = &v["span"];
    assert_eq!(v["level"], "INFO", "{line}");
    assert_eq!(span["name"], "invocation", "{line}");
    assert_eq!(span["function"], "RecordingCreated", "{line}");
    assert_eq!(v["outcome"], "processed", "{line}");
    assert_eq!(span["blob.name"], FIXTURE_BLOB, "{line}");
    assert_eq!(
        span["event.id"], "9c1e4b2a-701e-0012-3c4d-a1b2c3060a0b",
        "{line}"
    );
    assert_eq!(span["host.version"], "4.1037.0.0", "{line}");
    assert!(
        uuid::Uuid::parse_str(span["invocation.id"].as_str().unwrap_or_default()).is_ok(),
        "{line}"
    );
    assert!(
        v["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{line}"
    );
}
