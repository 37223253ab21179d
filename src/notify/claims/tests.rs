use std::time::Duration;

use time::macros::datetime;

use super::*;
use crate::testkit::tables::memory::InMemoryTables;

const LEASE: Duration = Duration::from_secs(60);
const ID: &str = "0b4c-notif";

/// The ETag of a claim `c` must acquire.
async fn acquire(c: &Claims<'_>, dest: Destination, now: OffsetDateTime) -> String {
    match c.claim(ID, dest, now, LEASE).await.expect("claim") {
        Claim::Acquired(etag) => etag,
        other => panic!("not acquired: {other:?}"),
    }
}

fn state(t: &InMemoryTables) -> Vec<(String, String)> {
    t.dump(DELIVERIES_TABLE)
        .iter()
        .map(|s| {
            (
                get_str(&s.entity, "RowKey").unwrap_or_default().to_owned(),
                get_str(&s.entity, "state").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn first_claim_wins_and_delivered_is_final() {
    let t = InMemoryTables::new();
    let now = datetime!(2025-03-14 09:00 UTC);
    let a = Claims::new(&t, "inv-a");
    let b = Claims::new(&t, "inv-b");
    let etag = acquire(&a, Destination::Slack, now).await;
    // The table did not exist: it was created on first use.
    assert_eq!(state(&t), [("slack".to_owned(), "pending".to_owned())]);
    let busy = b
        .claim(ID, Destination::Slack, now + Duration::from_secs(5), LEASE)
        .await
        .expect("claim");
    assert_eq!(busy, Claim::Busy("2025-03-14T09:01:00.000Z".into()));
    // Other destinations are independent.
    assert!(matches!(
        b.claim(ID, Destination::Teams, now, LEASE)
            .await
            .expect("claim"),
        Claim::Acquired(_)
    ));
    a.finish(ID, Destination::Slack, &etag, now, &Finish::Delivered)
        .await
        .expect("finish");
    for later in [now, now + Duration::from_secs(3600)] {
        assert_eq!(
            b.claim(ID, Destination::Slack, later, LEASE)
                .await
                .expect("claim"),
            Claim::Delivered
        );
    }
}

#[tokio::test]
async fn expired_lease_is_taken_over_once() {
    let t = InMemoryTables::new();
    let now = datetime!(2025-03-14 09:00 UTC);
    let stale = acquire(&Claims::new(&t, "crashed"), Destination::Webhook, now).await;
    let later = now + Duration::from_secs(61);
    let fresh = acquire(&Claims::new(&t, "b"), Destination::Webhook, later).await;
    assert_eq!(
        Claims::new(&t, "c")
            .claim(ID, Destination::Webhook, later, LEASE)
            .await
            .expect("c"),
        Claim::Busy("2025-03-14T09:02:01.000Z".into())
    );
    // The crashed holder's late finish must not overwrite the new holder's claim.
    let late = Claims::new(&t, "crashed")
        .finish(ID, Destination::Webhook, &stale, later, &Finish::Delivered)
        .await;
    assert!(matches!(late, Err(AzureError::PreconditionFailed)));
    Claims::new(&t, "b")
        .finish(
            ID,
            Destination::Webhook,
            &fresh,
            later,
            &Finish::Failed("HTTP 410: gone".into()),
        )
        .await
        .expect("f");
    assert_eq!(
        Claims::new(&t, "d")
            .claim(ID, Destination::Webhook, later, LEASE)
            .await
            .expect("c"),
        Claim::Failed
    );
    let row = &t.dump(DELIVERIES_TABLE)[0].entity;
    assert_eq!(get_str(row, "reason"), Some("HTTP 410: gone"));
    assert_eq!(get_str(row, "owner"), Some("b"));
}

#[tokio::test]
async fn released_claims_can_be_taken_at_once() {
    let t = InMemoryTables::new();
    let now = datetime!(2025-03-14 09:00 UTC);
    let a = Claims::new(&t, "a");
    let etag = acquire(&a, Destination::Teams, now).await;
    let released = Finish::Released("HTTP 503".into());
    a.finish(ID, Destination::Teams, &etag, now, &released)
        .await
        .expect("release");
    assert!(matches!(
        Claims::new(&t, "b")
            .claim(
                ID,
                Destination::Teams,
                now + Duration::from_millis(1),
                LEASE
            )
            .await
            .expect("c"),
        Claim::Acquired(_)
    ));
    assert_eq!(state(&t), [("teams".to_owned(), "pending".to_owned())]);
}

#[tokio::test]
async fn concurrent_claims_yield_exactly_one_holder() {
    let t = std::sync::Arc::new(InMemoryTables::new());
    let now = datetime!(2025-03-14 09:00 UTC);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("inv-{i}");
            Claims::new(t.as_ref(), &owner)
                .claim(ID, Destination::Slack, now, LEASE)
                .await
                .expect("claim")
        }));
    }
    let mut acquired = 0;
    for task in tasks {
        if matches!(task.await.expect("join"), Claim::Acquired(_)) {
            acquired += 1;
        }
    }
    assert_eq!(acquired, 1);
}

/// The claim insert is stored but its answer lost: the client's retry meets the row (409), or every
/// attempt failed (transient). Either way the row is this claimant's own claim, held with the ETag
/// read back, while another claimant still finds a live lease. The same for a take-over of an
/// expired lease whose retry meets the changed ETag (412).
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_held_by_its_claimant() {
    use std::sync::Arc;

    use crate::testkit::LostAnswer;
    let now = datetime!(2025-03-14 09:00 UTC);
    let answers: [fn() -> AzureError; 2] = [
        || AzureError::Conflict,
        || AzureError::Transient("connection reset".into()),
    ];
    for answer in answers {
        let memory = Arc::new(InMemoryTables::new());
        let lossy = LostAnswer::new(memory.clone(), DELIVERIES_TABLE, answer);
        let got = Claims::new(&lossy, "inv-a")
            .claim(ID, Destination::Webhook, now, LEASE)
            .await;
        let Ok(Claim::Acquired(etag)) = got else {
            panic!("{got:?}")
        };
        let other = Claims::new(memory.as_ref(), "inv-b")
            .claim(ID, Destination::Webhook, now, LEASE)
            .await;
        assert!(matches!(other, Ok(Claim::Busy(_))), "{other:?}");
        Claims::new(memory.as_ref(), "inv-a")
            .finish(ID, Destination::Webhook, &etag, now, &Finish::Delivered)
            .await
            .expect("the ETag read back is the stored row's");
    }
    let memory = Arc::new(InMemoryTables::new());
    Claims::new(memory.as_ref(), "crashed")
        .claim(ID, Destination::Slack, now, LEASE)
        .await
        .expect("claim");
    let lossy = LostAnswer::new(memory.clone(), DELIVERIES_TABLE, || {
        AzureError::PreconditionFailed
    })
    .on_replace();
    let later = now + Duration::from_secs(61);
    let got = Claims::new(&lossy, "inv-b")
        .claim(ID, Destination::Slack, later, LEASE)
        .await;
    assert!(matches!(got, Ok(Claim::Acquired(_))), "{got:?}");
}

#[test]
fn key_validity() {
    assert!(valid_key("0b4c2f3a-1d2e-4f50-8a9b-0c1d2e3f4a5b"));
    for bad in ["", "a/b", "a\\b", "a#b", "a?b", "a\nb", &"x".repeat(513)] {
        assert!(!valid_key(bad), "{bad:?}");
    }
}
