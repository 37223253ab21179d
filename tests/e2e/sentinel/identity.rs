//! The export with the app's managed identity, as in Azure: the token comes from the identity
//! endpoint for the Logs Ingestion audience (`https://monitor.azure.com`), and the fake refuses a
//! token for any other audience (401), so an export that asked for the wrong one would fail.

use bastion_testkit::ingestion::{FakeIngestion, serve};
use time::OffsetDateTime;

use super::{DCR, DETECTIONS, declaration, deliver, export, health, ids, notification, settings};
use crate::identity::rig::{Rig, pairs};

const AUDIENCE: &str = "https://monitor.azure.com";

#[tokio::test]
async fn rows_leave_with_an_identity_token_for_the_monitor_audience() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    for (audience, accepted) in [(AUDIENCE, true), ("https://monitor.azure.us", false)] {
        let fake = FakeIngestion::new(declaration(), DCR).with_audience(audience);
        let url = serve(fake.clone()).await.expect("serve");
        let secret = format!("handler-{accepted}");
        let mut env = rig.env(&secret, None);
        env.retain(|(k, _)| k != "TABLE_PREFIX");
        env.push(("TABLE_PREFIX".into(), crate::harness::unique("t")));
        for (k, v) in settings(&url) {
            env.push((k.to_owned(), v));
        }
        let h = crate::harness::HandlerProcess::spawn(&pairs(&env)).await;
        let n = notification("session.unrecorded", "tunnel-id", OffsetDateTime::now_utc());
        deliver(&h, &n).await;
        let (status, reply) = export(&h).await;
        let asked: Vec<String> = rig
            .idp
            .requests(&secret)
            .into_iter()
            .filter_map(|r| r.resource)
            .collect();
        assert!(
            asked.iter().any(|r| r == AUDIENCE),
            "a token for {AUDIENCE} was asked of the identity endpoint: {asked:?}"
        );
        if accepted {
            assert_eq!(status, 200, "{reply}\n{}", h.log_text());
            assert_eq!(ids(&fake, DETECTIONS).len(), 1);
        } else {
            assert_eq!(status, 500, "a refused token fails the tick: {reply}");
            assert!(fake.accepted().is_empty());
            let doc = health(&h).await;
            assert_eq!(doc["streams"]["Detections"]["rows"], 1, "kept: {doc}");
            assert!(
                doc["streams"]["Detections"]["lastError"]
                    .as_str()
                    .is_some_and(|e| e.contains("401")),
                "{doc}"
            );
        }
    }
}
