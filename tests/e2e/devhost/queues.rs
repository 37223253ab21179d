//! devhost on Azurite: queue triggers with host encoding, deletion on success, poison after
//! `maxDequeueCount` failures, a slow Get Messages answer waited for.

use std::time::Duration;

use serde_json::{Value, json};

use super::azure::{T, peek, send, wait_peek};
use super::{Devhost, TempApp, assert_host_headers, is_offset_seconds};
use crate::faults::proxy::{Fault, Proxy, Rule, Service};
use crate::harness::{azurite, unique};

fn queue_app(ok: &str, bad: &str) -> TempApp {
    let trigger = |q: &str| json!({"bindings": [{"type": "queueTrigger", "direction": "in", "name": "message", "queueName": q, "connection": "AzureWebJobsStorage"}]});
    TempApp::new(
        json!({"maxDequeueCount": 5, "visibilityTimeout": "00:00:00"}),
        &[("Consume", trigger(ok)), ("Poisoned", trigger(bad))],
    )
}

#[tokio::test]
async fn queue_triggers_get_host_encoding_and_failures_end_in_poison() {
    let Some(cs) = azurite() else { return };
    let (ok, bad) = (unique("dhok"), unique("dhbad"));
    let app = queue_app(&ok, &bad);
    app.script(json!({"Poisoned": {"fail": -1, "status": 500}}));
    let d = Devhost::spawn(
        &app.root,
        None,
        &[
            ("AzureWebJobsStorage", cs.as_str()),
            ("DEVHOST_WATCH", ""),
            ("DEVHOST_QUEUE_POLL_MS", "100"),
        ],
    )
    .await;
    d.wait_log("devhost handler ready", T).await;
    let text = r#"{"type":"x","n":5,"o":{"a":1},"list":[1]}"#;
    send(&cs, &ok, text).await;
    let calls = app.wait_calls("/Consume", 1, T).await;
    assert_eq!(calls.len(), 1, "{}", d.log_text());
    assert_host_headers(&calls[0]);
    let body = &calls[0]["json"];
    assert_eq!(
        body["Data"]["message"],
        Value::String(Value::String(text.into()).to_string()),
        "double-encoded"
    );
    let m = &body["Metadata"];
    assert_eq!(m["DequeueCount"], "1");
    for k in ["InsertionTime", "ExpirationTime", "NextVisibleTime"] {
        assert!(is_offset_seconds(&m[k]), "{k}: {m}");
    }
    for k in ["Id", "PopReceipt"] {
        let inner: String =
            serde_json::from_str(m[k].as_str().expect("string")).expect("double-encoded");
        assert!(!inner.is_empty());
    }
    assert_eq!(
        (m["type"].as_str(), m["n"].as_str()),
        (Some("\"x\""), Some("\"5\""))
    );
    assert_eq!(m["o"], json!({"a": 1}));
    assert!(m.get("list").is_none());
    assert_eq!(m["sys"]["MethodName"], "Consume");

    send(&cs, &bad, "poison me").await;
    let poisoned = wait_peek(&cs, &format!("{bad}-poison"), 1).await;
    assert_eq!(poisoned, vec!["poison me".to_owned()], "{}", d.log_text());
    let calls = app.calls("/Poisoned");
    let counts: Vec<_> = calls
        .iter()
        .map(|c| {
            c["json"]["Metadata"]["DequeueCount"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(counts, ["1", "2", "3", "4", "5"]);
    assert!(
        calls
            .iter()
            .all(|c| c["json"]["Data"]["message"] == "\"poison me\"")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        peek(&cs, &bad).await.is_empty() && peek(&cs, &ok).await.is_empty(),
        "handled messages are deleted"
    );
}

/// A Get Messages the queue service answers slowly (a busy emulator or account) is waited for, as
/// the host's Azure SDK waits (100 s a try): its messages run now. Giving up after the app's
/// 6-s storage try left them taken but never run, hidden for their whole 10-minute lease (the
/// 604-s fan-out tick of a batch of 16).
#[tokio::test]
async fn a_slow_get_messages_answer_is_waited_for_not_left_to_its_lease() {
    let Some(cs) = azurite() else { return };
    let (ok, bad) = (unique("dhslow"), unique("dhunused"));
    let app = queue_app(&ok, &bad);
    send(&cs, &ok, "taken slowly").await;
    let proxy = Proxy::start(&cs).await;
    let slow = Fault::Slow(8_000);
    let path = format!("/{ok}/messages");
    proxy.add(
        Rule::new(slow)
            .service(Service::Queue)
            .method("GET")
            .path(&path),
    );
    let d = Devhost::spawn(
        &app.root,
        None,
        &[
            ("AzureWebJobsStorage", proxy.connection.as_str()),
            ("DEVHOST_WATCH", ""),
            ("DEVHOST_QUEUE_POLL_MS", "100"),
        ],
    )
    .await;
    d.wait_log("devhost handler ready", T).await;
    let calls = app.wait_calls("/Consume", 1, Duration::from_secs(40)).await;
    assert_eq!(proxy.fired(slow), 1, "the slow answer was served");
    assert_eq!(
        calls.len(),
        1,
        "run once, not left hidden: {}",
        d.log_text()
    );
    assert_eq!(calls[0]["json"]["Metadata"]["DequeueCount"], "1");
}
