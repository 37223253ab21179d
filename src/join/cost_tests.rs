//! What a pass costs in table calls, counted on the in-memory stores.

use std::sync::Arc;

use time::Duration;
use time::macros::datetime;

use crate::testkit::audit::{Tally, kit};

/// Recordings whose rejoin times fall together (an instant each, close in creation time) are read again by
/// one range query, not one query per recording.
#[tokio::test]
async fn recordings_rejoining_together_are_read_by_one_query() {
    let mut k = kit(None);
    let tally = Arc::new(Tally::new(k.state.ports.tables.clone()));
    k.state.ports.tables = tally.clone();
    let first = datetime!(2025-03-14 09:00 UTC);
    for i in 0..40 {
        let at = first + Duration::seconds(36 * i);
        k.recording(&format!("vm/other-{i:03}.webm"), at, &[]).await;
    }
    tally.reset();
    let r = k.join_pass().await;
    assert_eq!(r.evaluated, 40, "every recording decided: {r:?}");
    let queries = tally.count(Some("recordings"), Some("query"));
    assert!(
        queries <= 2,
        "the rejoin read and one read of their creation times, not one each: {queries} ({:?})",
        tally.by_table()
    );
}
