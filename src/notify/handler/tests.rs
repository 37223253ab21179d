use serde_json::json;

use super::*;
use crate::invocation::{InvokeRequest, Outcome};
use crate::notify::Severity;
use crate::testkit::state::Replace as _;

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

/// Asserts `o` was processed with a summary saying each of `parts`.
fn says(o: &Outcome, parts: &[&str]) {
    let Outcome::Processed { summary, .. } = o else {
        panic!("not processed: {o:?}")
    };
    assert!(parts.iter().all(|p| summary.contains(p)), "{summary}");
}

fn inv(message: serde_json::Value) -> Invocation {
    let body = json!({"Data": {"message": message}, "Metadata": {"DequeueCount": "2"}});
    crate::testkit::invocation(FUNCTION, "inv", &body)
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
            matches!(decode(&inv(bad.clone())), Err(Error::Unusable(_))),
            "{bad}"
        );
    }
    let mut n = note();
    n.notification_id = "a/b".into();
    assert!(matches!(
        decode(&inv(n.to_output())),
        Err(Error::Unusable(_))
    ));
    let empty = Invocation {
        request: InvokeRequest::default(),
        ..inv(json!("x"))
    };
    assert!(matches!(decode(&empty), Err(Error::Unusable(_))));
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
    says(
        &Outcome::from(ok),
        &["delivered to [teams]", "refused permanently by [webhook]"],
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
    assert!(dup.skipped && dup.findings.is_empty(), "{dup:?}");
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
    assert!(matches!(err, Error::Undelivered(_)), "{err}");
    assert!(err.to_string().contains("slack: HTTP 500"), "{err}");
}

/// A receiver answering 400 `channel_not_found` on `/slack`, 200 elsewhere; returns its base URL.
async fn receiver() -> String {
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        if uri.path() == "/slack" {
            (axum::http::StatusCode::BAD_REQUEST, "channel_not_found")
        } else {
            (axum::http::StatusCode::OK, "ok")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    base
}

#[tokio::test]
async fn refusals_are_quarantined_and_recorded_per_destination() {
    let base = receiver().await;
    let (teams, slack, hook) = (
        format!("{base}/teams"),
        format!("{base}/slack"),
        format!("{base}/hook"),
    );
    let settings = [
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true"),
        ("NOTIFY_TEAMS_URL", &teams),
        ("NOTIFY_SLACK_URL", &slack),
        ("NOTIFY_WEBHOOK_URL", &hook),
        (
            "NOTIFY_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ];
    let (cfg, errors) =
        crate::setting::read_pairs(&settings, crate::notify::config::NotifyConfig::from_reader);
    assert!(errors.is_empty(), "{errors:?}");
    let f = crate::testkit::fakes();
    let state = f.state.clone().with_notify(cfg);
    let n = note();
    let out = crate::functions::notify::notify_webhook(state.clone(), inv(n.to_output()))
        .await
        .expect("processed");
    says(
        &out,
        &[
            "delivered to [teams,webhook]",
            "refused permanently by [slack]",
        ],
    );
    let rows: Vec<(String, String)> = f
        .tables
        .dump(crate::notify::claims::DELIVERIES_TABLE)
        .iter()
        .map(|s| {
            (
                s.entity["RowKey"].as_str().unwrap_or_default().to_owned(),
                s.entity["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expect = [
        ("slack", "failed"),
        ("teams", "delivered"),
        ("webhook", "delivered"),
    ];
    assert_eq!(rows, expect.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let quarantined = f.blobs.names(state.quarantine.container());
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert!(
        quarantined[0].starts_with("NotifyWebhook/")
            && quarantined[0].ends_with(&format!("{}-slack.json", n.notification_id))
    );
    let blob = crate::storage::BlobRef::new(
        state.quarantine.container().to_owned(),
        quarantined[0].clone(),
    );
    let doc = String::from_utf8_lossy(&f.blobs.content(&blob).expect("content")).into_owned();
    assert!(
        doc.contains("channel_not_found") && doc.contains("slack refused"),
        "{doc}"
    );
    // A redelivery does nothing.
    assert_eq!(
        crate::functions::notify::notify_webhook(state, inv(n.to_output()))
            .await
            .expect("ok")
            .label(),
        "skipped"
    );
}

/// A body too large for every routed destination is poison; one destination able to take it is
/// enough to try.
#[test]
fn a_notification_no_destination_can_take_is_poison() {
    use crate::notify::render::webhook::MAX_BODY;
    let n = note();
    let (hook, slack) = (Destination::Webhook, Destination::Slack);
    let huge = json!({"data": "x".repeat(MAX_BODY + 1)});
    let small = json!({"data": "x"});
    let e = some_fits(&n, &[hook], std::slice::from_ref(&huge)).expect_err("too large");
    assert!(
        matches!(&e, Error::Unusable(_)) && e.to_string().contains("webhook body"),
        "{e}"
    );
    assert!(some_fits(&n, &[hook, slack], &[huge, small.clone()]).is_ok());
    assert!(some_fits(&n, &[hook], &[small]).is_ok());
}
