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

/// The filters of the queries on the catalogue's table.
#[derive(Default)]
struct Filters(std::sync::Mutex<Vec<crate::tables::Filter>>);

#[async_trait::async_trait]
impl crate::tables::intercept::BeforeTableCall for Arc<Filters> {
    async fn before(
        &self,
        call: crate::tables::intercept::TableCall<'_>,
    ) -> Result<(), crate::azure::AzureError> {
        if let crate::tables::intercept::TableCall::Query("recordings", Some(f)) = call {
            self.0.lock().expect("filters").push(f.clone());
        }
        Ok(())
    }
}

/// A pass over an explicit span (a backfill's) reads each recording of the span once, by its
/// creation time: the read of the recordings due to rejoin leaves out those the span reads, which
/// are decided again whatever marked them.
#[tokio::test]
async fn a_pass_over_a_span_reads_each_of_its_recordings_once() {
    let mut k = kit(None);
    let first = datetime!(2025-03-14 09:00 UTC);
    let mut keys = Vec::new();
    for i in 0..30 {
        let at = first + Duration::minutes(i);
        keys.push(k.recording(&format!("vm/other-{i:03}.webm"), at, &[]).await);
    }
    // Past every rejoin time: each is due as well as within the span.
    k.clock.advance(Duration::days(2));
    let filters = Arc::new(Filters::default());
    let inner = k.state.ports.tables.clone();
    k.state.ports.tables = Arc::new(crate::tables::intercept::Intercepted::with(
        inner.clone(),
        filters.clone(),
    ));
    let scope = crate::join::Scope {
        since: "2025-03-14".into(),
        span: Some(crate::catalogue::days::Span {
            from: first - Duration::hours(1),
            until: first + Duration::hours(1),
        }),
    };
    let unlimited = crate::clock::Budget::unlimited(k.state.ports.clock.clone());
    let now = k.state.ports.clock.now();
    let r = k.join().run(&scope, now, &unlimited).await.expect("pass");
    assert_eq!(r.evaluated, 30, "{r:?}");
    let every = crate::tables::Filter::str("PartitionKey", crate::tables::filter::Op::Ge, "");
    let rows = crate::tables::ops::query_all(inner.as_ref(), "recordings", &every, usize::MAX);
    let rows = rows.await.expect("rows");
    assert_eq!(rows.len(), 30);
    let filters = filters.0.lock().expect("filters");
    for row in &rows {
        let mut e = row.entity.clone();
        crate::tables::strip_annotations(&mut e);
        let reads = filters.iter().filter(|f| f.matches(&e)).count();
        assert_eq!(reads, 1, "read once: {e:?}");
    }
}
