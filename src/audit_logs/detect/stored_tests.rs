//! Reading detections back for a period: from the per-day lists (never a scan), nothing outside
//! the period, and a listed partition whose marker never came is no detection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::failed::list;
use super::failed::{FailedLogin, store};
use super::stored::bursts;
use super::unchecked::check;
use crate::azure::AzureError;
use crate::tables::TableStore;
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;

const WINDOW: Duration = Duration::minutes(15);

/// Counts queries that name no partition (scans).
#[derive(Default)]
struct Scans(AtomicUsize);

#[async_trait]
impl BeforeTableCall for Scans {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        if let TableCall::Query(_, filter) = call
            && filter
                .and_then(crate::testkit::tables::filter::pinned_partition)
                .is_none()
        {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

type Watched = Intercepted<Arc<InMemoryTables>, Scans>;

/// `n` failed logins of `user` in the window starting at `at`; the attempts' partition.
async fn attempts(t: &dyn TableStore, at: OffsetDateTime, user: &str, n: usize) -> String {
    let mut parts = Vec::new();
    for i in 0..n {
        let f = FailedLogin {
            tunnel_id: format!("{user}-{i}"),
            window: at,
            day: String::new(),
            user: user.into(),
            client_ip: String::new(),
            vm: "vm9".into(),
            host: "bas-1".into(),
        };
        store(t, &[&f]).await.expect("store");
        parts = f.partitions();
    }
    parts.into_iter().next().expect("a partition")
}

/// A detected burst: its notification id.
async fn burst(t: &dyn TableStore, at: OffsetDateTime, user: &str) -> String {
    let pk = attempts(t, at, user, 5).await;
    let found = check(t, &pk, 5, WINDOW).await.expect("check");
    found.expect("a burst").id()
}

async fn ids(t: &dyn TableStore, from: OffsetDateTime, to: OffsetDateTime) -> Vec<String> {
    let found = bursts(t, from, to, WINDOW).await.expect("bursts");
    found.iter().map(crate::spine::Finding::id).collect()
}

#[tokio::test]
async fn a_period_is_read_from_its_days_lists_and_holds_nothing_else() {
    let memory = Arc::new(InMemoryTables::new());
    let t = Watched::with(memory.clone(), Scans::default());
    let before = burst(&t, datetime!(2025-02-28 23:45 UTC), "early").await;
    let first = burst(&t, datetime!(2025-03-01 00:00 UTC), "alice").await;
    let second = burst(&t, datetime!(2025-03-31 23:45 UTC), "bob").await;
    let after = burst(&t, datetime!(2025-04-01 00:00 UTC), "late").await;
    // Four attempts: below the threshold, never a detection.
    let few = attempts(&t, datetime!(2025-03-14 09:00 UTC), "carol", 4).await;
    assert!(check(&t, &few, 5, WINDOW).await.expect("check").is_none());
    // Listed, but its detector stopped before the marker: no detection either.
    let stopped = attempts(&t, datetime!(2025-03-15 09:00 UTC), "dave", 5).await;
    list(&t, &stopped).await.expect("list");

    let (from, to) = (
        datetime!(2025-03-01 00:00 UTC),
        datetime!(2025-04-01 00:00 UTC),
    );
    assert_eq!(ids(&t, from, to).await, [first.clone(), second]);
    // Reads scan nothing.
    let scans = t.hook().0.load(Ordering::SeqCst);
    assert_eq!(scans, 0);
    assert_eq!(
        ids(
            &t,
            datetime!(2025-02-28 00:00 UTC),
            datetime!(2025-03-01 00:15 UTC)
        )
        .await,
        [before, first]
    );
    assert_eq!(ids(&t, to, to + Duration::days(1)).await, [after]);
    assert_eq!(t.hook().0.load(Ordering::SeqCst), scans);
}
