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
impl crate::testkit::tables::intercept::BeforeTableCall for Arc<Filters> {
    async fn before(
        &self,
        call: crate::testkit::tables::intercept::TableCall<'_>,
    ) -> Result<(), crate::azure::AzureError> {
        if let crate::testkit::tables::intercept::TableCall::Query("recordings", Some(f)) = call {
            self.0.lock().expect("filters").push(f.clone());
        }
        Ok(())
    }
}

/// A pass over `span` (as a backfill runs it, from 2025-03-14) two days after the kit's recordings:
/// the catalogue's rows as stored and the filters of the pass's queries on them, in order.
async fn pass_over(
    k: &mut crate::testkit::audit::Kit,
    span: crate::catalogue::days::Span,
) -> (Vec<crate::tables::Entity>, Vec<crate::tables::Filter>) {
    // Past every rejoin time: each is due as well as within the span.
    k.clock.advance(Duration::days(2));
    let filters = Arc::new(Filters::default());
    let inner = k.state.ports.tables.clone();
    k.state.ports.tables = Arc::new(crate::testkit::tables::intercept::Intercepted::with(
        inner.clone(),
        filters.clone(),
    ));
    let scope = crate::join::Scope {
        since: "2025-03-14".into(),
        span: Some(span),
    };
    let unlimited = crate::clock::Budget::unlimited(k.state.ports.clock.clone());
    let now = k.state.ports.clock.now();
    let r = k.join().run(&scope, now, &unlimited).await.expect("pass");
    assert!(!r.busy && !r.cut, "{r:?}");
    let every = crate::tables::Filter::str("PartitionKey", crate::tables::filter::Op::Ge, "");
    let rows = crate::tables::ops::query_all(inner.as_ref(), "recordings", &every, usize::MAX);
    let rows = rows.await.expect("rows").into_iter().map(|s| {
        let mut e = s.entity;
        crate::tables::strip_annotations(&mut e);
        e
    });
    let filters = filters.0.lock().expect("filters").clone();
    (rows.collect(), filters)
}

/// A pass over an explicit span (a backfill's) reads each recording of the span once, by its
/// creation time: the read of the recordings due to rejoin leaves out those the span reads, which
/// are decided again whatever marked them.
#[tokio::test]
async fn a_pass_over_a_span_reads_each_of_its_recordings_once() {
    let mut k = kit(None);
    let first = datetime!(2025-03-14 09:00 UTC);
    for i in 0..30 {
        let at = first + Duration::minutes(i);
        k.recording(&format!("vm/other-{i:03}.webm"), at, &[]).await;
    }
    let span = crate::catalogue::days::Span {
        from: first - Duration::hours(1),
        until: first + Duration::hours(1),
    };
    let (rows, filters) = pass_over(&mut k, span).await;
    assert_eq!(rows.len(), 30);
    for row in &rows {
        let reads = (filters.iter())
            .filter(|f| crate::testkit::tables::filter::matches(f, row))
            .count();
        assert_eq!(reads, 1, "read once: {row:?}");
    }
}

/// A span starting within a second: the recording created in that second (its creation time is
/// stored to the second, so it lies before the span) is not the span's, and is still read as due
/// to rejoin.
#[tokio::test]
async fn a_recording_of_the_second_a_span_starts_in_is_read_as_due() {
    let mut k = kit(None);
    let first = datetime!(2025-03-14 09:00 UTC);
    k.recording("vm/boundary.webm", first, &[]).await;
    let span = crate::catalogue::days::Span {
        from: first + Duration::milliseconds(500),
        until: first + Duration::hours(1),
    };
    let (rows, filters) = pass_over(&mut k, span).await;
    // The pass's first query on the catalogue is its read of the recordings due to rejoin.
    assert!(
        crate::testkit::tables::filter::matches(&filters[0], &rows[0]),
        "{:?}",
        filters[0]
    );
}
