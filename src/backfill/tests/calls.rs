//! Storage calls a backfill makes per recording: a listing page's catalogue rows are read with one
//! query per creation day and handed down (the presence check, cataloguing and the join share
//! them), on a first run and on a re-run: no point read of the catalogue.

use super::*;
use crate::tables::intercept::CountingTables;
use crate::testkit::state_over;

/// Catalogue (`recordings`) point reads and queries so far.
fn catalogue_reads(tables: &CountingTables<InMemoryTables>) -> (u64, u64) {
    (
        tables.count(Some("recordings"), Some("get")),
        tables.count(Some("recordings"), Some("query")),
    )
}

#[tokio::test]
async fn a_page_reads_its_catalogue_rows_with_one_query_per_day() {
    let blobs = Arc::new(InMemoryBlobStore::new("devstoreaccount1"));
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let r = Rig {
        state: state_over(
            blobs.clone(),
            tables.clone(),
            datetime!(2025-03-20 10:00 UTC),
        ),
        blobs,
        // Read only by the tests that dump tables; this one reads the counts of `tables`.
        tables: Arc::new(InMemoryTables::new()),
    };
    let names = ["a/one.mp4", "b/two.mp4", "c/three.mp4"];
    for name in names {
        r.recording(name).await;
    }
    let only = Options {
        kinds: vec![Kind::Recordings],
        ..opts()
    };
    let (s, _) = r.run(&only).await;
    assert_eq!((s.catalogued, s.errors), (3, 0), "{s:?}");
    assert_eq!(catalogue_reads(&tables), (0, 1), "{:?}", tables.by_table());

    tables.reset();
    let (s, _) = r
        .run(&Options {
            restart: true,
            ..only
        })
        .await;
    assert_eq!((s.catalogued, s.errors), (0, 0), "{s:?}");
    assert_eq!(catalogue_reads(&tables), (0, 1), "{:?}", tables.by_table());
}
