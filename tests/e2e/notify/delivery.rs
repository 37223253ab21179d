//! Happy paths: payload shapes, signatures, redelivery and concurrent duplicates.

use std::time::Duration;

use serde_json::json;

use super::*;

#[tokio::test]
async fn delivers_every_destination_once_with_the_right_shapes() {
    let rx = Receiver::start().await;
    let h = spawn(&env(&rx, &[])).await;
    let n = notification("shapes", "warning");
    let (status, body) = h.invoke("NotifyWebhook", &invocation(&n, 1)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["Logs"][0]
            .as_str()
            .is_some_and(|l| l.contains("delivered to [teams,slack,webhook]")),
        "{body}"
    );

    let teams = rx.hits(TEAMS);
    assert_eq!(teams.len(), 1);
    let card = teams[0].json();
    assert_eq!(card["type"], "message");
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let content = &card["attachments"][0]["content"];
    assert_eq!(
        (content["type"].as_str(), content["version"].as_str()),
        (Some("AdaptiveCard"), Some("1.4"))
    );
    assert!(
        content["actions"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["type"] == "Action.OpenUrl"))
    );
    assert!(teams[0].body.len() < 28 * 1024);

    let slack = rx.hits(&format!("{SLACK}/{SLACK_TOKEN}"));
    assert_eq!(slack.len(), 1);
    let s = slack[0].json();
    assert_eq!(s["text"], "[warning] Session without a recording");
    assert_eq!(s["blocks"][0]["type"], "header");

    let hook = rx.hits(HOOK);
    assert_eq!(hook.len(), 1);
    let w = hook[0].json();
    assert_eq!(w["type"], "session.unrecorded");
    assert_eq!(w["timestamp"], "2025-03-14T09:42:17Z");
    assert_eq!(w["data"]["vm"], "vm-app-01");
    assert_eq!(
        hook[0].headers["webhook-id"],
        n["notificationId"].as_str().expect("id")
    );
    let ts: i64 = hook[0].headers["webhook-timestamp"]
        .parse()
        .expect("unix seconds");
    assert!((time::OffsetDateTime::now_utc().unix_timestamp() - ts).abs() < 60);
    assert_eq!(
        hook[0].headers["webhook-signature"].split(' ').count(),
        2,
        "one signature per rotated key"
    );
    assert!(
        python_verifies(&hook[0], SECRET),
        "signature under the first key"
    );
    assert!(
        python_verifies(&hook[0], ROTATED),
        "signature under the rotated key"
    );
    assert!(
        !python_verifies(&hook[0], "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "the verifier can fail"
    );

    for hit in [&teams[0], &slack[0], &hook[0]] {
        let text = String::from_utf8_lossy(&hit.body);
        assert!(
            !text.contains("alice@example.com") && !text.contains("203.0.113.7"),
            "PII is opt-in: {text}"
        );
    }

    // A redelivery of the same message posts nothing.
    let (status, body) = h.invoke("NotifyWebhook", &invocation(&n, 2)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["Logs"][0]
            .as_str()
            .is_some_and(|l| l.starts_with("skipped")),
        "{body}"
    );
    assert_eq!(rx.total(), 3);
    assert_no_secrets(&h).await;
}

#[tokio::test]
async fn pii_routes_and_unconfigured_destinations() {
    let rx = Receiver::start().await;
    let routes =
        std::env::temp_dir().join(format!("notify-e2e-routes-{}.toml", std::process::id()));
    std::fs::write(
        &routes,
        "[teams]\nmin_severity = \"critical\"\n[webhook]\ntypes = [\"recording.*\"]\n",
    )
    .expect("write");
    let h = spawn(&env(
        &rx,
        &[
            ("NOTIFY_INCLUDE_PII", "true"),
            ("NOTIFY_ROUTES", routes.to_str().expect("utf8")),
        ],
    ))
    .await;
    let (status, body) = h
        .invoke(
            "NotifyWebhook",
            &invocation(&notification("pii", "warning"), 1),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (rx.hits(TEAMS).len(), rx.hits(HOOK).len()),
        (0, 0),
        "filtered by severity and type"
    );
    let slack = rx.hits(&format!("{SLACK}/{SLACK_TOKEN}"));
    assert_eq!(slack.len(), 1);
    assert!(String::from_utf8_lossy(&slack[0].body).contains("alice@example.com"));
    let _ = std::fs::remove_file(routes);

    let none = spawn(&env(
        &rx,
        &[
            ("NOTIFY_TEAMS_URL", ""),
            ("NOTIFY_SLACK_URL", ""),
            ("NOTIFY_WEBHOOK_URL", ""),
            ("NOTIFY_WEBHOOK_SECRET", ""),
        ],
    ))
    .await;
    let (status, body) = none
        .invoke(
            "NotifyWebhook",
            &invocation(&notification("none", "critical"), 1),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body["Logs"][0]
            .as_str()
            .is_some_and(|l| l.contains("no configured destination")),
        "{body}"
    );
}

#[tokio::test]
async fn concurrent_duplicates_post_once_per_destination() {
    let rx = Receiver::start().await;
    // Slow answers keep the first claim open while the duplicates arrive.
    rx.script(
        HOOK,
        &[Reply {
            delay: Duration::from_millis(700),
            ..reply(200, "ok")
        }],
    );
    let h = spawn(&env(&rx, &[])).await;
    let inv = invocation(&notification("dup", "info"), 1);
    let calls = (0..4).map(|_| h.invoke("NotifyWebhook", &inv));
    let results = futures::future::join_all(calls).await;
    // Claims may split the destinations between the racing deliveries, so each may end Retryable
    // (it saw another live claim); what must hold is one post per destination, and a 200 on the
    // redelivery below.
    assert!(
        results.iter().all(|(s, _)| *s == 200 || *s == 500),
        "{results:?}"
    );
    assert_eq!(
        (
            rx.hits(TEAMS).len(),
            rx.hits(HOOK).len(),
            rx.hits(&format!("{SLACK}/{SLACK_TOKEN}")).len()
        ),
        (1, 1, 1)
    );
    // The losers saw a live claim and failed retryably; their redelivery now skips.
    let (status, _) = h.invoke("NotifyWebhook", &inv).await;
    assert_eq!(status, 200);
    assert_eq!(rx.total(), 3);
}

#[tokio::test]
async fn bad_messages_are_poison_and_bad_settings_stop_start_up() {
    let rx = Receiver::start().await;
    let h = spawn(&env(&rx, &[])).await;
    let junk =
        json!({"Data": {"message": "\"not a notification\""}, "Metadata": {"DequeueCount": "1"}});
    let (status, body) = h.invoke("NotifyWebhook", &junk).await;
    assert_eq!(status, 200, "poison is acknowledged");
    assert!(
        body["Logs"][0]
            .as_str()
            .is_some_and(|l| l.starts_with("poisoned")),
        "{body}"
    );
    assert_eq!(rx.total(), 0);

    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_handler"));
    cmd.env_clear()
        .env("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0");
    cmd.env(
        "NOTIFY_SLACK_URL",
        format!("http://example.com/services/T/B/{SLACK_TOKEN}"),
    );
    let out = cmd.output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NOTIFY_SLACK_URL") && !err.contains(SLACK_TOKEN),
        "{err}"
    );
}
