use serde_json::json;

use super::*;
use crate::invocation::InvokeRequest;
use crate::notify::Severity;

fn note() -> Notification {
    Notification::new(
        "recording.catalogued",
        "r1",
        "2025-03-14T09:42:17Z".into(),
        Severity::Info,
        "t".into(),
        json!({}),
    )
}

fn inv(message: serde_json::Value) -> Invocation {
    let body = json!({"Data": {"message": message}, "Metadata": {"DequeueCount": "2"}});
    let raw = bytes::Bytes::from(serde_json::to_vec(&body).expect("json"));
    Invocation {
        function: FUNCTION,
        id: "inv".into(),
        host_version: None,
        request: InvokeRequest::parse(&raw).expect("parse"),
        raw,
    }
}

#[test]
fn host_encoded_messages_decode_and_junk_is_poison() {
    let text = serde_json::to_string(&note()).expect("json");
    let double = serde_json::to_string(&text).expect("double");
    assert_eq!(decode(&inv(json!(double))).expect("decodes"), note());
    assert_eq!(
        decode(&inv(json!(text))).expect("single-encoded too"),
        note()
    );
    assert_eq!(
        decode(&inv(note().to_output())).expect("object too"),
        note()
    );
    for bad in [json!("\"not json\""), json!("{\"type\":\"x\"}"), json!(42)] {
        assert!(
            matches!(decode(&inv(bad.clone())), Err(HandlerError::Poison { .. })),
            "{bad}"
        );
    }
    let mut n = note();
    n.notification_id = "a/b".into();
    assert!(matches!(
        decode(&inv(n.to_output())),
        Err(HandlerError::Poison { .. })
    ));
    let empty = Invocation {
        request: InvokeRequest::default(),
        ..inv(json!("x"))
    };
    assert!(matches!(decode(&empty), Err(HandlerError::Poison { .. })));
}

#[test]
fn endings() {
    let n = note();
    let d = [Destination::Teams, Destination::Slack, Destination::Webhook];
    let ok = conclude(
        &n,
        &d,
        &[
            Step::Delivered,
            Step::AlreadyDone("x"),
            Step::Refused("HTTP 400".into()),
        ],
        1,
        5,
    )
    .expect("ok");
    let Outcome::Processed { summary, .. } = ok else {
        panic!("processed")
    };
    assert!(
        summary.contains("delivered to [teams]")
            && summary.contains("refused permanently by [webhook]"),
        "{summary}"
    );
    let dup = conclude(
        &n,
        &d,
        &[
            Step::AlreadyDone("x"),
            Step::AlreadyDone("y"),
            Step::AlreadyDone("z"),
        ],
        2,
        5,
    )
    .expect("ok");
    assert_eq!(dup.label(), "skipped");
    let err = conclude(
        &n,
        &d,
        &[
            Step::Delivered,
            Step::Retry("HTTP 500".into()),
            Step::Delivered,
        ],
        5,
        5,
    )
    .expect_err("retry");
    assert_eq!(err.label(), "failed");
    assert!(err.to_string().contains("slack: HTTP 500"), "{err}");
}
