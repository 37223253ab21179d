//! A quiet `LiveSessions` host (its last run left no row live or awaiting its audit decision and
//! no finding open): answering no session, it costs no table call; a host with a row to decide is
//! not quiet, and a quiet one that answers a session is read and stored as any other.

use std::sync::Arc;

use super::{Canned, HOST, record, session};
use crate::estate::live;
use crate::tables::TableStore;
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;

const T0: time::OffsetDateTime = time::macros::datetime!(2026-11-25 12:00 UTC);

fn healthy() -> Canned {
    Canned {
        host: Some(serde_json::json!({"properties": {"enableSessionRecording": true}})),
        ..Canned::default()
    }
}

#[tokio::test]
async fn a_quiet_host_answering_no_session_reads_no_table_and_a_host_with_a_row_to_decide_is_not_quiet()
 {
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let blobs = Arc::new(InMemoryBlobStore::new("acct"));
    let clock = Arc::new(crate::testkit::clock::FixedClock::new(T0));
    let ports = crate::testkit::ports(blobs, tables.clone() as Arc<dyn TableStore>, clock);
    let wait = time::Duration::minutes(30);
    // A session seen, then gone: its row ended, its audit decision still to make.
    let h = super::host(true, false);
    record(tables.as_ref(), HOST, &h, &[session("s1", "alice")], T0)
        .await
        .expect("seen");
    let arm = healthy();
    let ended = live::tick(&ports, &arm, HOST, wait, T0, false).await;
    assert!(!ended.quiet, "a row awaits its audit decision");
    // Past its wait the decision is made (the audit logs show nothing: missing).
    let later = T0 + time::Duration::hours(2);
    live::tick(&ports, &arm, HOST, wait, later, false).await;
    let settled = live::tick(&ports, &arm, HOST, wait, later, false).await;
    assert!(settled.quiet && settled.failed.is_empty(), "{settled:?}");
    tables.reset();
    let quiet = live::tick(&ports, &arm, HOST, wait, later, true).await;
    assert!(quiet.quiet && quiet.findings.is_empty(), "{quiet:?}");
    assert_eq!(tables.total(), 0, "{:?}", tables.by_table());
    // Not quiet (a redelivery, or an earlier run that left work): the rows are read.
    live::tick(&ports, &arm, HOST, wait, later, false).await;
    assert!(tables.total() > 0);
}

#[tokio::test]
async fn a_quiet_host_that_answers_a_session_is_read_and_stored() {
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let blobs = Arc::new(InMemoryBlobStore::new("acct"));
    let clock = Arc::new(crate::testkit::clock::FixedClock::new(T0));
    let ports = crate::testkit::ports(blobs, tables.clone() as Arc<dyn TableStore>, clock);
    let arm = healthy();
    *arm.sessions.lock().expect("sessions") = vec![session("s2", "bob")];
    let r = live::tick(&ports, &arm, HOST, time::Duration::minutes(30), T0, true).await;
    assert_eq!(r.live, 1);
    assert!(!r.quiet);
    assert_eq!(
        live::live_now(tables.as_ref()).await.expect("live").len(),
        1
    );
}
