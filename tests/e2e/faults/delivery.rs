//! `NotifyWebhook` with its claim table on Azurite behind the proxy: the answer to the claim insert
//! is lost (the row is stored, pending, owned by this invocation). The invocation must still post,
//! once, instead of taking its own claim for another instance's and backing off until the lease
//! runs out.

use super::proxy::{Fault, Rule, Service};
use super::rig;
use crate::notify::{HOOK, Receiver, invocation, notification};

#[tokio::test]
async fn a_lost_answer_to_the_delivery_claim_still_delivers_once() {
    let rx = Receiver::start().await;
    let settings = rig::webhook_settings(&rx);
    let Some((e, proxy)) = rig::start(&rig::pairs(&settings)).await else {
        return;
    };
    // The table exists, so the insert is what commits (not a 404 that creates it).
    e.tables.ensure_table("deliveries").await.expect("table");
    for (round, attempts) in [(0, 1), (1, 3)] {
        let n = notification(&format!("lost-claim-{round}"), "warning");
        proxy.add(
            Rule::new(Fault::DropAnswer)
                .service(Service::Table)
                .method("POST")
                .path("deliveries")
                .times(attempts),
        );
        let (status, reply) = e.handler.invoke("NotifyWebhook", &invocation(&n, 1)).await;
        proxy.clear();
        assert_eq!(status, 200, "{reply}\n{}", e.handler.log_text());
        assert_eq!(
            rx.hits(HOOK)
                .iter()
                .filter(|h| h.headers.get("webhook-id").map(String::as_str)
                    == n["notificationId"].as_str())
                .count(),
            1,
            "posted exactly once"
        );
        // A redelivery finds it delivered.
        let (status, reply) = e.handler.invoke("NotifyWebhook", &invocation(&n, 2)).await;
        assert_eq!(status, 200, "{reply}");
        assert!(
            reply["Logs"][0]
                .as_str()
                .is_some_and(|l| l.starts_with("skipped")),
            "{reply}"
        );
    }
    assert_eq!(rx.hits(HOOK).len(), 2);
    assert_eq!(proxy.fired(Fault::DropAnswer), 1 + 3);
}
