//! Removing sent rows: a transaction refused because one row changed since read is halved, not
//! redone row by row; the changed row stays, every other one goes.

use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::remove_all;
use crate::export::outbox::{self, Outbox};
use crate::export::rows::ReviewRow;
use crate::export::table::Table;
use crate::tables::TableStore;
use crate::testkit::clock::FixedClock;
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;

const T: OffsetDateTime = datetime!(2025-03-14 09:01 UTC);

fn review(i: i64, comment: &str) -> ReviewRow {
    ReviewRow {
        time_generated: T + Duration::seconds(i),
        review_id: format!("r-{i:03}"),
        subject_kind: "session".into(),
        subject_id: "t".into(),
        verdict: "ok".into(),
        comment: comment.into(),
        ticket: String::new(),
        reviewer: "auditor".into(),
        bastion_host: String::new(),
        target_vm: String::new(),
        user_name: String::new(),
        session_id: String::new(),
        session_start: None,
        recording_deleted_at: None,
        user_email: String::new(),
    }
}

#[tokio::test]
async fn one_changed_row_among_a_hundred_costs_a_few_transactions_and_stays() {
    let mem = Arc::new(CountingTables::new(InMemoryTables::new()));
    let outbox = Outbox::on(mem.clone(), Arc::new(FixedClock::new(T)));
    for i in 0..250 {
        outbox.record(&review(i, "sent")).await.expect("recorded");
    }
    let bucket = outbox::bucket_table(Table::Reviews, T);
    let tables: &dyn TableStore = mem.as_ref();
    let rows = outbox::unsent(tables, &bucket, Table::Reviews, None, 1000)
        .await
        .expect("read");
    assert_eq!(rows.len(), 250);
    // Recorded again, changed, after it was read (and sent): it must stay to be sent again.
    outbox.record(&review(137, "changed")).await.expect("again");
    let before = mem.total();
    let (removed, changed, failed) = remove_all(tables, &bucket, Table::Reviews, &rows).await;
    assert_eq!((removed, changed, failed), (249, 1, 0));
    let calls = mem.total() - before;
    // Three transactions, and for the one holding the changed row its halves down to that row:
    // 2 + 1 + 2 × 7 - 1 = at most 16 calls (redone row by row: 103).
    assert!(calls <= 16, "{calls} calls");
    let left = outbox::unsent(tables, &bucket, Table::Reviews, None, 1000)
        .await
        .expect("read");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, "r-137");
    assert!(left[0].record.contains("changed"), "{}", left[0].record);
}
