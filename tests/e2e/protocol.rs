//! Host-protocol conformance of the real `handler` process (functions-host-protocol.md §9).

use serde_json::json;

use crate::harness::{HandlerProcess, fixture};

fn memory() -> [(&'static str, &'static str); 2] {
    [("HANDLER_IN_MEMORY", "true"), ("HANDLER_IN_MEMORY_ACCOUNT", "stbastrecweu01")]
}

#[tokio::test]
async fn readiness_answers_get_root_at_once() {
    let h = HandlerProcess::spawn(&memory()).await;
    let res = reqwest::get(h.url("/")).await.expect("get /");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn malformed_bodies_are_poisoned_with_200_and_json() {
    let h = HandlerProcess::spawn(&memory()).await;
    for body in [&b"not json"[..], b"", b"[]", b"{\"Data\":\"x\"}", b"{\"Data\":{},\"Metadata\":{}}"] {
        let (status, ct, text) = h.invoke_raw("RecordingCreated", body.to_vec()).await;
        assert_eq!(status, 200, "{text}");
        assert!(ct.starts_with("application/json"), "{ct}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert!(v["Logs"][0].as_str().is_some_and(|l| l.starts_with("poisoned")), "{v}");
        assert!(v["Outputs"].is_object());
    }
    let (status, v) = h.invoke("RecordingCreated", &json!({"Data": {"eventGridEvent": fixture("events/blob-deleted.cloudevents.json")}, "Metadata": {}})).await;
    assert_eq!(status, 200);
    assert!(v["Logs"][0].as_str().is_some_and(|l| l.starts_with("skipped")), "{v}");
}
