//! The pacer's pauses shared between two clients standing for two instances of the app.

use super::*;

/// The pauses of one app in memory, shared by two clients standing for two instances.
#[derive(Debug, Default)]
struct Board(std::sync::Mutex<std::collections::HashMap<String, std::time::SystemTime>>);

#[async_trait::async_trait]
impl crate::azure::pace::SharedPauses for Board {
    async fn until(&self, key: &str) -> Option<std::time::SystemTime> {
        self.0.lock().unwrap().get(key).copied()
    }
    async fn record(&self, key: &str, until: std::time::SystemTime) {
        let mut all = self.0.lock().unwrap();
        let kept = crate::azure::pace::later(all.get(key).copied(), until);
        all.insert(key.to_owned(), kept);
    }
}

/// A 429 one instance gets pauses the scope for another instance's client too: its call to the
/// scope sends nothing and ends at once as throttled, while the first instance's pause is kept.
#[tokio::test]
async fn a_429_pauses_the_scope_for_another_instance_sharing_the_pauses() {
    let s = script(&[(429, Some("600"), ""), (200, None, "{}")]);
    let url = serve(s.clone()).await;
    let board: std::sync::Arc<Board> = std::sync::Arc::default();
    let shared = || Some(board.clone() as std::sync::Arc<dyn crate::azure::pace::SharedPauses>);
    let (one, two) = (
        client(60).paced(16, shared()),
        client(60).paced(16, shared()),
    );
    let first = one.send(&get(&url)).await.expect_err("throttled");
    assert!(matches!(first, AzureError::Throttled { .. }), "{first:?}");
    assert_eq!(board.0.lock().unwrap().len(), 1, "the pause is recorded");
    let other = two.send(&get(&url)).await.expect_err("paused");
    assert!(
        matches!(other, AzureError::Throttled { retry_after: Some(d) } if d > Duration::from_secs(590)),
        "{other:?}"
    );
    let left = two.pacer().expect("paced").paused("/").await;
    assert!(
        left.is_some_and(|d| d > Duration::from_secs(590)),
        "{left:?}"
    );
    assert_eq!(
        s.seen.lock().unwrap().len(),
        1,
        "the other instance sent nothing"
    );
    // Unshared, the other instance would have called.
    let alone = client(60).paced(16, None);
    assert!(alone.send(&get(&url)).await.is_ok());
}

/// A 429 without `Retry-After` (Resource Manager documents one on every 429) is shared too, for
/// the default wait (a second, the bucket's refill).
#[tokio::test]
async fn a_429_without_retry_after_shares_the_default_pause() {
    let s = script(&[(429, None, ""), (200, None, "{}")]);
    let url = serve(s.clone()).await;
    let board: std::sync::Arc<Board> = std::sync::Arc::default();
    let key = crate::azure::pace::key(crate::azure::pace::Lane::Reads, "/");
    let c = client(60).paced(16, Some(board.clone()));
    let started = std::time::SystemTime::now();
    c.send(&get(&url))
        .await
        .expect("retried after the default wait");
    let until = board.0.lock().unwrap()[&key];
    let waited = until.duration_since(started).unwrap_or_default();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}
