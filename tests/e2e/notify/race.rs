//! Two handler processes sharing one claim table (Azurite) racing on the same messages.

use std::time::Duration;

use super::*;
use crate::harness::{AzuriteEnv, azurite};

#[tokio::test]
async fn two_processes_post_once_per_destination() {
    let Some(cs) = azurite() else { return };
    let rx = Receiver::start().await;
    // A slow webhook keeps claims open while the other process arrives.
    rx.script(
        HOOK,
        &vec![
            Reply {
                delay: Duration::from_millis(300),
                ..reply(200, "ok")
            };
            5
        ],
    );
    let az = AzuriteEnv::new(&cs);
    let mut vars = env(&rx, &[("HANDLER_IN_MEMORY", "")]);
    vars.extend(
        az.pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let (a, b) = (spawn(&vars).await, spawn(&vars).await);
    let notes: Vec<Value> = (0..5)
        .map(|i| notification(&format!("race{i}"), "warning"))
        .collect();
    for n in &notes {
        let inv = invocation(n, 1);
        // Each destination is claimed on its own, so both may answer 500 (each saw the other's
        // live claim on some destination): that is a retry, never a second post.
        let (ra, rb) = tokio::join!(
            a.invoke("NotifyWebhook", &inv),
            b.invoke("NotifyWebhook", &inv)
        );
        assert!(
            [ra.0, rb.0].iter().all(|s| [200, 500].contains(s)),
            "{ra:?} {rb:?}"
        );
        // The queue redelivers to whichever instance; redeliveries must settle without posting again.
        for (attempt, h) in [(2, &a), (3, &b)] {
            let (status, body) = h.invoke("NotifyWebhook", &invocation(n, attempt)).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    let slack = format!("{SLACK}/{SLACK_TOKEN}");
    for n in &notes {
        let id = n["notificationId"].as_str().expect("id");
        let hook = rx
            .hits(HOOK)
            .iter()
            .filter(|h| h.headers.get("webhook-id").map(String::as_str) == Some(id))
            .count();
        assert_eq!(hook, 1, "webhook posts for {id}");
    }
    assert_eq!((rx.hits(TEAMS).len(), rx.hits(&slack).len()), (5, 5));
    assert_no_secrets(&a);
    assert_no_secrets(&b);
}
