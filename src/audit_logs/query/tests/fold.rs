//! A page's records of one session are written once, however many chunks they fall in.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;

#[tokio::test]
async fn a_session_spread_over_chunks_of_one_page_costs_one_write() {
    let recs = records();
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let blobs = Arc::new(InMemoryBlobStore::new("devstoreaccount1"));
    let k = Kit {
        state: crate::testkit::state_over(blobs.clone(), tables.clone(), NOW),
        blobs,
        clock: Arc::new(crate::testkit::clock::FixedClock::new(NOW)),
    };
    let fake = FakeLogs::default();
    fake.workspace(WS);
    let first = NOW - Duration::minutes(10);
    // The connect, 2,500 rows no session can take (no tunnel id), then the same session's end.
    fake.ingest(WS, row(&recs[0], first));
    for i in 1..=2_500 {
        let mut filler = row(&recs[0], first + Duration::milliseconds(i));
        filler.values.insert("TunnelId".into(), json!(""));
        fake.ingest(WS, filler);
    }
    let mut ended = row(&recs[0], first + Duration::seconds(5));
    ended
        .values
        .insert("Message".into(), json!("Session Ended"));
    fake.ingest(WS, ended);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!((r.failed, r.queries), (0, 1));
    // One write of the row, unread: the page holds its connect (the first write also creates the
    // table: two calls).
    assert_eq!(
        (
            tables.count(Some(SESSIONS_TABLE), Some("get")),
            tables.count(Some(SESSIONS_TABLE), Some("write"))
        ),
        (0, 2),
        "{:?}",
        tables.by_table()
    );
    let s = crate::catalogue::session::get(&*k.state.ports.tables, &recs[0].tunnel)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(s.messages, ["Session Ended", "Successfully Connected."]);
}
