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
    let mut vars = env(&rx, &[]);
    vars.extend(
        az.pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let (a, b) = (spawn_connected(&vars).await, spawn_connected(&vars).await);
    let notes: Vec<Value> = (0..5)
        .map(|i| notification(&format!("race{i}"), "warning"))
        .collect();
    let mut contended = 0;
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
        contended += usize::from(ra.0 == 500) + usize::from(rb.0 == 500);
        // The queue redelivers to whichever instance; redeliveries must settle without posting again.
        for (attempt, h) in [(2, &a), (3, &b)] {
            let (status, body) = h.invoke("NotifyWebhook", &invocation(n, attempt)).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    eprintln!("two processes, 5 messages: {contended} first deliveries backed off on a live claim");
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
    assert_no_secrets(&a).await;
    assert_no_secrets(&b).await;
}

/// The claim state machine against every table store (the fake, and Azurite when enabled): the
/// service's ETags, 409 and 412 must drive it exactly like the fake's.
#[tokio::test]
async fn claim_state_machine_on_every_table_store() {
    use bastion_recordings::notify::claims::{Claim, Claims, Finish};
    use bastion_recordings::notify::routes::Destination;
    for (label, tables) in crate::storage_contract::table_stores() {
        let t0 = time::OffsetDateTime::now_utc();
        let lease = Duration::from_secs(60);
        let id = crate::harness::unique("n");
        let (a, b) = (
            Claims::new(tables.as_ref(), "a"),
            Claims::new(tables.as_ref(), "b"),
        );
        let Claim::Acquired(etag) = a
            .claim(&id, Destination::Slack, t0, lease)
            .await
            .expect(label)
        else {
            panic!("{label}: first claim")
        };
        assert!(
            matches!(
                b.claim(&id, Destination::Slack, t0, lease)
                    .await
                    .expect(label),
                Claim::Busy(_)
            ),
            "{label}"
        );
        // After the lease, b takes over; a's late finish is refused by the ETag.
        let later = t0 + Duration::from_secs(61);
        let Claim::Acquired(fresh) = b
            .claim(&id, Destination::Slack, later, lease)
            .await
            .expect(label)
        else {
            panic!("{label}: takeover")
        };
        assert!(
            a.finish(&id, Destination::Slack, &etag, later, &Finish::Delivered)
                .await
                .is_err(),
            "{label}: stale finish"
        );
        b.finish(&id, Destination::Slack, &fresh, later, &Finish::Delivered)
            .await
            .expect(label);
        assert_eq!(
            a.claim(&id, Destination::Slack, later, lease)
                .await
                .expect(label),
            Claim::Delivered,
            "{label}"
        );
        // Release makes a claim available at once.
        let Claim::Acquired(e) = a
            .claim(&id, Destination::Teams, t0, lease)
            .await
            .expect(label)
        else {
            panic!("{label}")
        };
        let released = Finish::Released("HTTP 503".into());
        a.finish(&id, Destination::Teams, &e, t0, &released)
            .await
            .expect(label);
        let again = b
            .claim(
                &id,
                Destination::Teams,
                t0 + Duration::from_millis(5),
                lease,
            )
            .await
            .expect(label);
        assert!(matches!(again, Claim::Acquired(_)), "{label}: {again:?}");
    }
}
