//! Storage calls a backfill makes per recording: the catalogue row is read once and handed down
//! (the presence check, cataloguing and the join share it), on a first run and on a re-run.

use super::*;
use crate::tables::intercept::CountingTables;
use crate::testkit::state_over;

/// Catalogue (`recordings`) reads so far.
fn catalogue_reads(tables: &CountingTables<InMemoryTables>) -> u64 {
    tables.count(Some("recordings"), Some("get"))
}

#[tokio::test]
async fn each_recording_reads_its_catalogue_row_once() {
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
    assert_eq!(catalogue_reads(&tables), 3, "{:?}", tables.by_table());

    tables.reset();
    let (s, _) = r
        .run(&Options {
            restart: true,
            ..only
        })
        .await;
    assert_eq!((s.catalogued, s.errors), (0, 0), "{s:?}");
    assert_eq!(catalogue_reads(&tables), 3, "{:?}", tables.by_table());
}
