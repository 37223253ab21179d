//! Envelope shape tests against `tests/fixtures/invocations/*.json`: keys, encodings, date formats.

use serde_json::{Value, json};
use time::macros::datetime;

use super::*;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/invocations/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

/// The same keys, recursively, with the same JSON types (values may differ).
fn same_shape(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let (mut kx, mut ky): (Vec<_>, Vec<_>) = (x.keys().collect(), y.keys().collect());
            kx.sort();
            ky.sort();
            assert_eq!(kx, ky, "keys at {path}");
            for k in x.keys() {
                same_shape(&x[k], &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "type at {path}: {a} vs {b}"
        ),
    }
}

fn facts(blob_type: &'static str, len: u64) -> BlobFacts {
    BlobFacts {
        scope: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/devhost".into(),
        account: "devstoreaccount1".into(),
        container: "recordings".into(),
        name: "a/b=c.mp4".into(),
        url: "http://127.0.0.1:10000/devstoreaccount1/recordings/a/b=c.mp4".into(),
        etag: "0x8DD62A1B3C4D5E6".into(),
        content_type: "application/octet-stream".into(),
        content_length: len,
        blob_type,
        api: blob_api(blob_type, len),
        sequencer: sequencer(1, 2),
    }
}

fn ids() -> EventIds {
    EventIds {
        id: "i".into(),
        client_request_id: "c".into(),
        request_id: "r".into(),
        batch_id: "b".into(),
    }
}

#[test]
fn dates_use_the_documented_formats() {
    let t = datetime!(2025-03-14 09:42:18.2345678 UTC);
    assert_eq!(utc_7(t), "2025-03-14T09:42:18.2345678Z");
    assert_eq!(
        utc_7(datetime!(2025-03-14 09:42:18 UTC)),
        "2025-03-14T09:42:18.0000000Z"
    );
    assert_eq!(offset_seconds(t), "2025-03-14T09:42:18+00:00");
    assert_eq!(offset_7(t), "2025-03-14T09:42:18.2345678+00:00");
    assert_eq!(
        utc_7(datetime!(2025-03-14 10:42:18 +01:00)),
        "2025-03-14T09:42:18.0000000Z"
    );
}

#[test]
fn strings_are_double_encoded() {
    assert_eq!(double("aaaaa"), json!("\"aaaaa\""));
    assert_eq!(double("{\"a\":1}"), json!("\"{\\\"a\\\":1}\""));
    assert_eq!(double("1"), json!("\"1\""));
}

#[test]
fn blob_created_envelope_matches_the_fixture_shape() {
    let now = datetime!(2025-03-14 09:42:17.1234567 UTC);
    let event = blob_created_event(&facts("BlockBlob", 8 * 1024 * 1024), &ids(), now);
    let env = event_grid_envelope("eventGridEvent", &event, sys("RecordingCreated", now, "g"));
    let mut expected = fixture("recording-created.invocation.json");
    // `accessTier` is optional in real events and not known from a listing.
    for path in ["/Data/eventGridEvent/data", "/Metadata/data"] {
        expected
            .pointer_mut(path)
            .and_then(Value::as_object_mut)
            .expect("data")
            .remove("accessTier");
    }
    same_shape(&env, &expected, "$");
    let e = &env["Data"]["eventGridEvent"];
    assert_eq!(
        e["subject"],
        "/blobServices/default/containers/recordings/blobs/a/b=c.mp4"
    );
    assert_eq!(
        e["topic"],
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/devhost/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
    );
    assert_eq!(e["eventTime"], "2025-03-14T09:42:17.1234567Z");
    assert_eq!(e["data"]["api"], "PutBlockList");
    assert_eq!(e["dataVersion"], "");
    assert_eq!(e["metadataVersion"], "1");
    assert_eq!(env["Metadata"]["data"], e["data"]);
    assert_eq!(
        env["Metadata"]["sys"]["UtcNow"],
        "2025-03-14T09:42:17.1234567Z"
    );
}

#[test]
fn append_blob_event_matches_the_audit_fixture_shape() {
    let now = datetime!(2025-03-14 09:03:55 UTC);
    let event = blob_created_event(&facts("AppendBlob", 0), &ids(), now);
    let mut expected = fixture("auditlog-created.invocation.json");
    // The audit fixture was captured without `clientRequestId`; the recording one has it.
    for path in ["/Data/eventGridEvent/data", "/Metadata/data"] {
        expected
            .pointer_mut(path)
            .and_then(Value::as_object_mut)
            .expect("data")
            .insert("clientRequestId".into(), json!("x"));
    }
    same_shape(
        &event_grid_envelope("eventGridEvent", &event, sys("AuditLogCreated", now, "g")),
        &expected,
        "$",
    );
    assert_eq!(event["data"]["api"], "PutBlob");
    assert_eq!(event["data"]["contentLength"], 0);
}

#[test]
fn api_rule_and_sequencer() {
    assert_eq!(blob_api("BlockBlob", PUT_BLOCK_LIST_ABOVE), "PutBlob");
    assert_eq!(
        blob_api("BlockBlob", PUT_BLOCK_LIST_ABOVE + 1),
        "PutBlockList"
    );
    assert_eq!(blob_api("AppendBlob", u64::MAX), "PutBlob");
    let s = sequencer(0x10F8A, 0x47e92);
    assert_eq!(s, "00000000000000000000000000010F8A0000000000047e92");
    assert_eq!(sequencer(u128::MAX, u64::MAX).len(), 48);
    assert!(sequencer(5, 9) < sequencer(6, 0) && sequencer(5, 9) < sequencer(5, 10));
}

#[test]
fn string_event_data_is_double_encoded_and_missing_data_omitted() {
    let env = event_grid_envelope("e", &json!({"data": "x"}), json!({}));
    assert_eq!(env["Metadata"]["data"], "\"x\"");
    let env = event_grid_envelope("e", &json!({"id": "1"}), json!({}));
    assert!(env["Metadata"].get("data").is_none());
}

#[test]
fn timer_first_run_and_status_null_match_fixtures() {
    let now = datetime!(2025-03-16 02:00:00.0456789 UTC);
    let status = ScheduleStatus {
        last: None,
        next: datetime!(2025-03-16 02:00 UTC),
        last_updated: datetime!(2025-03-15 17:21:09.403838 UTC),
    };
    let env = timer_envelope(
        "timer",
        timer_info(Some(&status), false),
        sys("RetentionSweep", now, "g"),
        None,
    );
    let expected = fixture("timer-first-run.invocation.json");
    same_shape(&env, &expected, "$");
    assert_eq!(
        env["Data"]["timer"]["ScheduleStatus"]["Last"],
        "0001-01-01T00:00:00"
    );
    assert_eq!(
        env["Data"]["timer"]["ScheduleStatus"]["Next"],
        expected["Data"]["timer"]["ScheduleStatus"]["Next"]
    );
    assert_eq!(
        env["Data"]["timer"]["ScheduleStatus"]["LastUpdated"],
        "2025-03-15T17:21:09.4038380+00:00"
    );
    assert_eq!(env["Metadata"].as_object().map(|m| m.len()), Some(1));

    let env = timer_envelope(
        "timer",
        timer_info(None, false),
        sys("RetentionSweep", now, "g"),
        None,
    );
    same_shape(
        &env,
        &fixture("timer-schedulestatus-null.invocation.json"),
        "$",
    );

    let later = ScheduleStatus {
        last: Some(datetime!(2025-03-15 02:00 UTC)),
        ..status
    };
    assert_eq!(
        timer_info(Some(&later), true)["ScheduleStatus"]["Last"],
        "2025-03-15T02:00:00+00:00"
    );
    assert_eq!(timer_info(Some(&later), true)["IsPastDue"], true);
}

#[test]
fn retry_context_appears_only_on_retries() {
    let env = timer_envelope(
        "timer",
        timer_info(None, false),
        json!({}),
        Some(retry_context(2, 3, "HTTP 500")),
    );
    assert_eq!(env["Metadata"]["RetryContext"]["RetryCount"], 2);
    assert_eq!(env["Metadata"]["RetryContext"]["MaxRetryCount"], 3);
}

#[test]
fn queue_envelope_matches_the_fixture_exactly() {
    let expected = fixture("queue-message.invocation.json");
    let text: String =
        serde_json::from_str(expected["Data"]["message"].as_str().expect("s")).expect("inner");
    let m = QueueFacts {
        text,
        id: "b4f2a1c3-5d6e-4f70-8a9b-0c1d2e3f4a5b".into(),
        pop_receipt: "AgAAAAMAAAAAAAAAq3xY9mSV2wE=".into(),
        dequeue_count: 1,
        insertion_time: Some(datetime!(2025-03-14 09:42:20 UTC)),
        expiration_time: Some(datetime!(2025-03-21 09:42:20 UTC)),
        next_visible_time: Some(datetime!(2025-03-14 09:52:21.5 UTC)),
    };
    let env = queue_envelope("message", &m, expected["Metadata"]["sys"].clone());
    assert_eq!(env, expected);
}

#[test]
fn queue_json_properties_override_case_insensitively_and_skip_arrays() {
    let m = QueueFacts {
        text: r#"{"id":"mine","n":1.5,"ok":true,"list":[1],"nothing":null,"o":{"a":1}}"#.into(),
        id: "real".into(),
        pop_receipt: "p".into(),
        dequeue_count: 3,
        insertion_time: None,
        expiration_time: None,
        next_visible_time: None,
    };
    let meta = &queue_envelope("message", &m, json!({}))["Metadata"];
    assert!(meta.get("Id").is_none());
    assert_eq!(meta["id"], "\"mine\"");
    assert_eq!(meta["n"], "\"1.5\"");
    assert_eq!(meta["ok"], "\"True\"");
    assert_eq!(meta["o"], json!({"a": 1}));
    assert!(meta.get("list").is_none() && meta.get("nothing").is_none());
    assert_eq!(meta["DequeueCount"], "3");
    let plain = QueueFacts {
        text: "hello".into(),
        ..m
    };
    let env = queue_envelope("message", &plain, json!({}));
    assert_eq!(env["Data"]["message"], "\"hello\"");
    assert_eq!(env["Metadata"]["Id"], "\"real\"");
}
