//! Parsing tests for host.json / function.json, including the repository's own app root.

use std::time::Duration;

use serde_json::json;

use super::parse::{function_def, host_config, parse_timespan};
use super::*;

#[test]
fn timespans_parse_like_dotnet() {
    assert_eq!(parse_timespan("00:10:00"), Some(Duration::from_secs(600)));
    assert_eq!(
        parse_timespan("1.02:00:01"),
        Some(Duration::from_secs(86_400 + 7201))
    );
    assert_eq!(
        parse_timespan("00:00:00.5"),
        Some(Duration::from_millis(500))
    );
    assert_eq!(parse_timespan("10"), None);
    assert_eq!(parse_timespan("00:00:61"), None);
    assert_eq!(parse_timespan("a:b:c"), None);
}

#[test]
fn repository_host_json_is_understood() {
    let text = include_str!("../../../host.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("json");
    let h = host_config(&v).expect("host");
    assert_eq!(h.executable, "handler");
    assert!(h.forwarding);
    assert_eq!(h.route_prefix, "api");
    assert_eq!(h.function_timeout, Duration::from_secs(600));
    assert_eq!(h.max_dequeue_count, 5);
    assert_eq!(h.visibility_timeout, Duration::from_secs(30));
    assert_eq!(h.message_encoding, MessageEncoding::Base64);
}

#[test]
fn host_json_keys_are_case_insensitive_and_defaults_apply() {
    let v = json!({"CustomHandler": {"Description": {"DefaultExecutablePath": "x"}}});
    let h = host_config(&v).expect("host");
    assert_eq!(h.executable, "x");
    assert!(!h.forwarding);
    assert_eq!(h.max_dequeue_count, 5);
    assert_eq!(h.function_timeout, Duration::from_secs(1800));
    assert_eq!(h.visibility_timeout, Duration::ZERO);
}

#[test]
fn host_json_errors_match_the_host() {
    assert!(host_config(&json!({})).is_err());
    let e = host_config(&json!({"customHandler": {}})).expect_err("no description");
    assert!(e.contains("Missing worker Description"));
    let e = host_config(&json!({"customHandler": {"description": {"defaultExecutablePath": " "}}}))
        .expect_err("empty");
    assert!(e.contains("cannot be empty"));
    let bad = json!({"customHandler": {"description": {"defaultExecutablePath": "h"}},
                     "extensions": {"queues": {"messageEncoding": "utf7"}}});
    assert!(host_config(&bad).is_err());
}

#[test]
fn function_json_bindings_are_classified() {
    let v = json!({"bindings": [
        {"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 2 * * *"},
        {"type": "queue", "direction": "out", "name": "notifications", "queueName": "n"}],
        "retry": {"strategy": "exponentialBackoff", "maxRetryCount": 3, "minimumInterval": "00:00:01", "maximumInterval": "00:00:05"}});
    let f = function_def("RetentionSweep", &v).expect("def");
    assert_eq!(
        f.trigger,
        Trigger::Timer {
            name: "timer".into(),
            schedule: "0 0 2 * * *".into(),
            run_on_startup: false,
            use_monitor: true
        }
    );
    assert_eq!(f.queue_outputs[0].connection, "AzureWebJobsStorage");
    let r = f.retry.expect("retry");
    assert_eq!(r.max_retry_count, 3);
    assert_eq!([1, 2, 3, 4].map(|n| r.delay(n).as_secs()), [1, 2, 4, 5]);
}

#[test]
fn http_in_and_out_rule() {
    let v = json!({"bindings": [
        {"type": "httpTrigger", "direction": "in", "name": "req"},
        {"type": "http", "direction": "out", "name": "res"}]});
    assert!(function_def("Api", &v).expect("def").is_http_in_and_out());
    let v = json!({"bindings": [
        {"type": "httpTrigger", "direction": "in", "name": "req"},
        {"type": "http", "direction": "out", "name": "res"},
        {"type": "queue", "direction": "out", "name": "q", "queueName": "q"}]});
    assert!(!function_def("Api", &v).expect("def").is_http_in_and_out());
}

#[test]
fn broken_function_json_is_rejected() {
    assert!(function_def("F", &json!({})).is_err());
    assert!(function_def("F", &json!({"bindings": []})).is_err());
    let two = json!({"bindings": [
        {"type": "queueTrigger", "direction": "in", "name": "a", "queueName": "a"},
        {"type": "timerTrigger", "direction": "in", "name": "b", "schedule": "* * * * * *"}]});
    assert!(function_def("F", &two).is_err());
    let bad_retry = json!({"bindings": [{"type": "eventGridTrigger", "direction": "in", "name": "e"}],
                           "retry": {"strategy": "sometimes", "maxRetryCount": 1}});
    assert!(function_def("F", &bad_retry).is_err());
}

#[test]
fn repository_functions_load() {
    let app = AppRoot::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .expect("app root");
    let names: Vec<_> = app.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(
        names.contains(&"RecordingCreated") && names.contains(&"NotifyWebhook"),
        "{names:?}"
    );
    assert!(
        app.function("CatalogueApi")
            .expect("api")
            .is_http_in_and_out()
    );
    assert!(
        app.function("recordingcreated").is_none(),
        "lookup is case-sensitive"
    );
}
