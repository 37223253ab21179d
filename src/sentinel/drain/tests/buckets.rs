//! The drain over buckets: a closed one retired by cursor moves and one Delete Table, resumed
//! after the last accepted call, kept while another instance holds a lease.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use time::Duration;

use super::{STREAM, T, fake, review, rig};
use crate::clock::Clock as _;
use crate::export::rows::ReviewRow;
use crate::export::{Table, outbox};
use crate::ports::Ports;
use crate::sentinel::drain::run;
use crate::testkit::ingestion::Fault;

/// A backlog older than its bucket's settling time: sent once each, in order, retired by cursor
/// moves (no row removed one by one) and then the whole bucket deleted in one call; rows of the
/// open bucket are removed row by row.
#[tokio::test]
async fn a_closed_bucket_is_sent_by_cursor_and_deleted_whole() {
    let r = rig(fake()).await;
    let ids = r.record(2_500, 1_500).await;
    let closed = outbox::bucket_table(Table::Reviews, T);
    // Writes from now on go to a later bucket; the first closes 15 min after it ends.
    r.clock.advance(Duration::minutes(30));
    let later = ReviewRow {
        review_id: "r-late".into(),
        ..review(3_000, 10)
    };
    r.ports.outbox.record(&later).await.expect("recorded");
    assert_eq!(r.buckets().await.len(), 2);
    assert_eq!(r.waiting().await, 1_000, "counted to the cap");
    let counted = Arc::new(crate::testkit::tables::intercept::CountingTables::new(
        r.ports.tables.clone(),
    ));
    let ports = Ports {
        tables: counted.clone(),
        ..r.ports.clone()
    };
    let report = run(
        &ports,
        &r.client,
        "a",
        Instant::now() + StdDuration::from_secs(30),
    )
    .await;
    assert_eq!(report.error, None, "{report:?}");
    // Every table passes the closed bucket (the others find nothing in it).
    assert_eq!(report.total(), 2_501, "{:?}", report.sent);
    assert!(
        report.sent.contains(&(Table::Reviews, 2_501)),
        "{:?}",
        report.sent
    );
    assert_eq!(report.dropped, 1);
    let mut want = ids.clone();
    want.push("r-late".into());
    assert_eq!(
        r.fake.ids(STREAM),
        want,
        "every id once, the closed bucket first, in order"
    );
    let buckets = r.buckets().await;
    assert!(!buckets.contains(&closed), "{buckets:?}");
    assert_eq!(r.waiting().await, 0);
    let ops = counted.by_table();
    assert_eq!(counted.count(None, Some("delete_table")), 1, "{ops:?}");
    // One removal (the open bucket's one row, a single delete), not 2,500 in transactions of 100.
    let removals = counted.count(None, Some("batch")) + counted.count(None, Some("delete"));
    assert_eq!(removals, 1, "{ops:?}");
    let closed_removals = ops
        .iter()
        .filter(|(op, t, _)| (*op == "batch" || *op == "delete") && *t == closed)
        .count();
    assert_eq!(closed_removals, 0, "{ops:?}");
    let st = outbox::state::state(r.ports.tables.as_ref(), Table::Reviews)
        .await
        .expect("state")
        .expect("row");
    assert_eq!(st.cursor, outbox::buckets::cursor_done(&closed));
}

/// A run stopped part-way through a closed bucket resumes after the last row the service
/// accepted: nothing is sent twice, nothing skipped.
#[tokio::test]
async fn a_closed_bucket_resumes_after_the_last_accepted_call() {
    let r = rig(fake()).await;
    let ids = r.record(2_500, 1_500).await;
    r.clock.advance(Duration::minutes(30));
    r.fake.faults([Fault::Pass, Fault::Status(403)]);
    let first = r.drain("a", StdDuration::from_secs(30)).await;
    assert!(first.error.is_some(), "{first:?}");
    assert_eq!(first.dropped, 0, "a bucket not sent to its end stays");
    let sent = r.fake.ids(STREAM).len();
    assert!(sent > 0 && sent < 2_500, "{sent}");
    assert_eq!(r.waiting().await, 1_000.min(2_500 - sent));
    let second = r.drain("a", StdDuration::from_secs(30)).await;
    assert_eq!(second.error, None, "{second:?}");
    assert_eq!(second.dropped, 1);
    assert_eq!(r.fake.ids(STREAM), ids, "each once, in order");
    assert!(r.buckets().await.is_empty());
}

/// While another instance holds the lease of a table with rows in a closed bucket, that bucket is
/// not deleted (the instance may still be sending from it) and this run sends nothing of it;
/// once the lease has expired, this run sends each row once and deletes the bucket.
#[tokio::test]
async fn a_closed_bucket_stays_while_another_instance_holds_a_lease() {
    let r = rig(fake()).await;
    r.record(3, 10).await;
    r.clock.advance(Duration::minutes(30));
    claim(&r, Table::Reviews, "other").await;
    let report = r.drain("me", StdDuration::from_secs(10)).await;
    assert_eq!(report.leased_elsewhere, [Table::Reviews]);
    assert_eq!((report.calls, report.dropped), (0, 0), "{report:?}");
    assert!(r.fake.ids(STREAM).is_empty());
    assert_eq!(r.buckets().await.len(), 1);
    r.clock.advance(Duration::minutes(10));
    let report = r.drain("me", StdDuration::from_secs(10)).await;
    assert_eq!(report.dropped, 1, "{report:?}");
    assert_eq!(r.fake.ids(STREAM).len(), 3, "each once");
}

/// A lease another instance holds on a table none of the closed buckets holds a row of keeps
/// nothing: there is nothing of it there to send. The bucket is deleted, and that instance's
/// next look at it (the bucket gone from under its list) finds nothing and fails nothing.
#[tokio::test]
async fn a_lease_on_a_table_without_rows_in_a_closed_bucket_keeps_nothing() {
    let r = rig(fake()).await;
    let ids = r.record(3, 10).await;
    r.clock.advance(Duration::minutes(30));
    claim(&r, Table::Detections, "other").await;
    let report = r.drain("me", StdDuration::from_secs(10)).await;
    assert_eq!(report.error, None, "{report:?}");
    assert!(report.leased_elsewhere.is_empty(), "{report:?}");
    assert_eq!(report.dropped, 1, "{report:?}");
    assert_eq!(r.fake.ids(STREAM), ids);
    assert!(r.buckets().await.is_empty());
    let theirs = r.drain("other", StdDuration::from_secs(10)).await;
    assert_eq!((theirs.error, theirs.calls), (None, 0));
    assert_eq!(r.fake.ids(STREAM), ids, "nothing sent twice");
}

/// `owner` takes `table`'s lease for five minutes.
async fn claim(r: &super::Rig, table: Table, owner: &str) {
    let t = r.ports.tables.as_ref();
    let mut held = outbox::Held::default();
    let won = outbox::claim(
        t,
        table,
        &mut held,
        owner,
        r.clock.now(),
        Duration::minutes(5),
    );
    assert!(won.await.expect("claim"));
}

/// Each table has its own buckets: one whose lease another instance holds keeps its bucket and
/// its rows for that instance, while the other table's closed bucket is sent and deleted.
#[tokio::test]
async fn a_lease_elsewhere_keeps_only_its_own_tables_buckets() {
    use crate::export::rows::DisconnectRow;
    let r = rig(fake()).await;
    let ids = r.record(3, 10).await;
    let asked = DisconnectRow {
        time_generated: T,
        disconnect_id: "d-1".into(),
        bastion_resource_id:
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/bastionHosts/b".into(),
        bastion_host: "b".into(),
        session_id: "s-1".into(),
        reason: "left open".into(),
        decided_by: "responder@contoso.com".into(),
        requested_at: Some(T),
        state: "Requested".into(),
        message: String::new(),
    };
    r.ports.outbox.record(&asked).await.expect("recorded");
    assert_eq!(r.buckets().await.len(), 2, "one bucket per table");
    r.clock.advance(Duration::minutes(30));
    claim(&r, Table::Disconnects, "other").await;
    let report = r.drain("me", StdDuration::from_secs(10)).await;
    assert_eq!(report.leased_elsewhere, [Table::Disconnects]);
    assert_eq!(report.dropped, 1, "{report:?}");
    assert_eq!(r.fake.ids(STREAM), ids);
    let left = r.buckets().await;
    assert_eq!(left, [outbox::bucket_table(Table::Disconnects, T)]);
    r.clock.advance(Duration::minutes(10));
    let report = r.drain("me", StdDuration::from_secs(10)).await;
    assert_eq!((report.error, report.dropped), (None, 1));
    assert_eq!(r.fake.ids("Custom-BastionDisconnects"), ["d-1"]);
    assert!(r.buckets().await.is_empty());
}

/// The table calls of one drain over a closed bucket holding rows of one table (the second
/// such drain: the state table exists): the buckets listed once (which tables have rows where);
/// a table with no bucket neither read nor queried; the table with rows read once beside its
/// bucket's first page, claimed, released with its cursor past the bucket (its last), each a
/// write against the row it holds (no read before it), and its bucket deleted.
#[tokio::test]
async fn a_closed_bucket_costs_only_its_own_tables_calls() {
    use crate::testkit::tables::intercept::CountingTables;
    use crate::testkit::tables::memory::InMemoryTables;
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let r = super::rig_on(fake(), tables.clone()).await;
    let mut sent = Vec::new();
    for round in 0..2 {
        sent.extend(r.record(3, 10).await);
        r.clock.advance(Duration::minutes(30));
        tables.reset();
        let report = r.drain("me", StdDuration::from_secs(10)).await;
        assert_eq!((report.calls, report.dropped), (1, 1), "{report:?}");
        assert_eq!(r.fake.ids(STREAM).len(), sent.len(), "round {round}");
    }
    let state = Some(outbox::OUTBOX_TABLE);
    assert_eq!(
        (
            tables.count(state, Some("get")),
            tables.count(state, Some("write")),
            tables.count(None, Some("query")),
            tables.total(),
        ),
        (1, 2, 1, 1 + 2 + 1 + 2),
        "one state read; writes: claim, release (with the cursor past the bucket); one query; the buckets listed, the bucket deleted: {:?}",
        tables.by_table()
    );
    let st = outbox::state::state(r.ports.tables.as_ref(), Table::Reviews)
        .await
        .expect("state")
        .expect("row");
    let last = outbox::bucket_table(Table::Reviews, T + Duration::minutes(30));
    assert_eq!(
        st.cursor,
        outbox::buckets::cursor_done(&last),
        "moved with the release"
    );
    assert!(st.lease_owner.is_empty(), "released");
    let again = r.drain("me", StdDuration::from_secs(10)).await;
    assert_eq!(again.calls, 0, "{again:?}");
}

/// A full call goes while the next page is read: with a slow service, a page's query begins and
/// ends while a call is in flight, and every row still arrives once, in order.
#[tokio::test]
async fn the_next_page_is_read_while_a_call_is_sent() {
    use crate::azure::AzureError;
    use crate::ingestion::LogsIngestion;
    use crate::testkit::tables::intercept::CountingTables;
    use crate::testkit::tables::memory::InMemoryTables;
    struct Slow {
        tables: Arc<CountingTables<InMemoryTables>>,
        queries: std::sync::Mutex<Vec<(u64, u64)>>,
        records: std::sync::Mutex<usize>,
    }
    #[async_trait::async_trait]
    impl LogsIngestion for Slow {
        async fn upload(&self, _: &str, gzip: &[u8], _: Instant) -> Result<(), AzureError> {
            let before = self.tables.count(None, Some("query"));
            tokio::time::sleep(StdDuration::from_millis(150)).await;
            let after = self.tables.count(None, Some("query"));
            self.queries.lock().expect("lock").push((before, after));
            let json = flate2::read::GzDecoder::new(gzip);
            let rows: Vec<serde_json::Value> = serde_json::from_reader(json).expect("array");
            *self.records.lock().expect("lock") += rows.len();
            Ok(())
        }
    }
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let r = super::rig_on(fake(), tables.clone()).await;
    r.record(3_000, 1_500).await;
    let slow = Slow {
        tables: tables.clone(),
        queries: std::sync::Mutex::default(),
        records: std::sync::Mutex::default(),
    };
    let report = run(
        &r.ports,
        &slow,
        "a",
        Instant::now() + StdDuration::from_secs(30),
    )
    .await;
    assert_eq!((&report.error, report.total()), (&None, 3_000));
    assert_eq!(*slow.records.lock().expect("lock"), 3_000, "each once");
    let queries = slow.queries.lock().expect("lock").clone();
    assert!(
        queries.iter().any(|(before, after)| after > before),
        "a page read during a call: {queries:?}"
    );
}
