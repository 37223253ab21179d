//! Storage calls a backfill makes: per recording, a listing page's catalogue rows are read with one
//! query per creation day and handed down (the presence check, cataloguing and the join share
//! them), on a first run and on a re-run: no point read of the catalogue; and every call of each
//! pass over one audit-log hour and four recordings, pinned per operation and table.

use super::*;
use crate::testkit::DefaultSources;
use crate::testkit::state_over;
use crate::testkit::tables::intercept::CountingTables;

/// Catalogue (`recordings`) point reads and queries so far.
fn catalogue_reads(tables: &CountingTables<InMemoryTables>) -> (u64, u64) {
    (
        tables.count(Some("recordings"), Some("get")),
        tables.count(Some("recordings"), Some("query")),
    )
}

/// A rig at `now` whose state's tables count their calls (the counts are read from the second value).
fn counted(now: time::OffsetDateTime) -> (Rig, Arc<CountingTables<InMemoryTables>>) {
    let blobs = Arc::new(InMemoryBlobStore::new("devstoreaccount1"));
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let r = Rig {
        state: state_over(blobs.clone(), tables.clone(), now),
        blobs,
        // Read only by the tests that dump tables; these read the counts of `tables`.
        tables: Arc::new(InMemoryTables::new()),
    };
    (r, tables)
}

#[tokio::test]
async fn a_page_reads_its_catalogue_rows_with_one_query_per_day() {
    let (r, tables) = counted(datetime!(2025-03-20 10:00 UTC));
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
    // The page's rows (one query), then the join pass's two: the due and the range's recordings.
    assert_eq!(catalogue_reads(&tables), (0, 3), "{:?}", tables.by_table());

    tables.reset();
    let (s, _) = r
        .run(&Options {
            restart: true,
            ..only
        })
        .await;
    assert_eq!((s.catalogued, s.errors), (0, 0), "{s:?}");
    assert_eq!(catalogue_reads(&tables), (0, 3), "{:?}", tables.by_table());
}

/// The calls of each pass, per operation and table (only those made).
fn made(tables: &CountingTables<InMemoryTables>) -> Vec<String> {
    let mut out: Vec<String> = tables
        .by_table()
        .into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(op, table, n)| format!("{op}:{table}={n}"))
        .collect();
    out.sort();
    out
}

/// One pass of a backfill: the containers of `kind` only.
async fn pass(r: &Rig, kind: Kind) -> Summary {
    let only = Options {
        kinds: vec![kind],
        ..opts()
    };
    r.run(&only).await.0
}

#[tokio::test]
async fn each_pass_makes_the_calls_it_needs_and_no_more() {
    let (r, tables) = counted(datetime!(2025-03-14 10:30 UTC));
    r.audit_log().await;
    let s = pass(&r, Kind::AuditLogs).await;
    assert_eq!((s.audit_logs_tailed, s.errors), (1, 0), "{s:?}");
    // Per session: its day row and its row inserted unread (the hour holds its connect) (the first write
    // of each table meets no table, creates it and writes again); the cursor inserted (not
    // read), claimed, and saved once with the claim released, as `AuditLogTail` saves it; the failed-login partitions marked
    // pending in one batch; then the run's one join pass: the lease read, taken and freed, the
    // pending rows, the due and range's recordings (none), one `recordingkeys` query for each
    // session seen for the first time that no recording names, its pending rows recorded as
    // changed for the review queue (a batch that meets no table: the table created and the batch
    // sent again) and their state recorded in one batch; the burst checks' marks removed in one
    // batch.
    assert_eq!(
        made(&tables),
        [
            "batch:failedlogins=2",
            "batch:sessionchanges=2",
            "batch:sessionwindows=1",
            "ensure:auditcursors=1",
            "ensure:backfill=1",
            "ensure:failedlogins=1",
            "ensure:joinstate=1",
            "ensure:sessionchanges=1",
            "ensure:sessions=1",
            "ensure:sessionwindows=1",
            "get:backfill=1",
            "get:joinstate=1",
            "query:backfill=1",
            "query:failedlogins=3",
            "query:recordingkeys=3",
            "query:recordings=2",
            "query:sessionwindows=1",
            "write:auditcursors=4",
            "write:backfill=2",
            "write:failedlogins=3",
            "write:joinstate=3",
            "write:sessions=4",
            "write:sessionwindows=4",
        ]
    );
    tables.reset();
    for name in [
        format!("PLACEHOLDER-{ALICE}.mp4"),
        "vm/a1b2c3d4-0000-4000-8000-000000000002.mp4".to_owned(),
        "vm/c0ffee00-1111-4222-8333-444455556666.mp4".to_owned(),
        "other/unmatched.mp4".to_owned(),
    ] {
        r.recording(&name).await;
    }
    let s = pass(&r, Kind::Recordings).await;
    assert_eq!((s.catalogued, s.errors), (4, 0), "{s:?}");
    // Per recording: one `sessions` read per GUID until one is a session (every GUID here names a
    // known session, from outside its window: the blobs are created now, days after the sessions,
    // so their GUIDs are indexed in `recordingkeys`; one naming none: the sessions of its
    // creation time, one query over its start days), its path index row,
    // one catalogue insert (the tables created by the first writes: the concurrent items' inserts
    // that meet the absent table create it and write again), joined already (the page's rows read with one query). Then the run's join
    // pass: the due and the range's recordings (two queries), the sessions that can match them
    // by time (one query over their start days), the sessions their GUIDs name that those did not hold (a read
    // each, and their day row read to record their state), the index rows of the joined recordings in
    // one batch per partition (the first, meeting no table, sent again once it is created), the
    // sessions recorded as changed and their recorded state in one batch each.
    assert_eq!(
        made(&tables),
        [
            "batch:recordingindex=9",
            "batch:sessionchanges=1",
            "batch:sessionwindows=1",
            "ensure:recordingindex=1",
            "ensure:recordingkeys=2",
            "ensure:recordingpaths=1",
            "ensure:recordings=2",
            "get:backfill=1",
            "get:joinstate=1",
            "get:sessions=6",
            "get:sessionwindows=3",
            "query:backfill=1",
            "query:failedlogins=1",
            "query:recordings=3",
            "query:sessionwindows=3",
            "write:backfill=1",
            "write:joinstate=2",
            "write:recordingkeys=5",
            "write:recordingpaths=5",
            "write:recordings=6",
        ]
    );
}

#[tokio::test]
async fn a_session_two_hours_share_is_written_once_with_both_hours_records() {
    let (r, tables) = counted(datetime!(2025-03-14 10:30 UTC));
    let fixture = std::fs::read_to_string(format!(
        "{}/tests/fixtures/auditlogs/PT1H.sample.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    // Alice connects in the 09:00 hour and disconnects in the 10:00 one; another session in 09:00.
    let lines: Vec<&str> = fixture.lines().collect();
    let hours = [
        (PATH.to_owned(), [lines[0], lines[1], ""].join("\n")),
        (PATH.replace("/h=09/", "/h=10/"), [lines[2], ""].join("\n")),
    ];
    let container = &r.state.ports.sources.default_audit_logs().container;
    for (path, text) in hours {
        let blob = BlobRef::new(container.clone(), path);
        r.blobs
            .create_append(&blob, "application/json")
            .await
            .expect("create");
        r.blobs
            .append(&blob, Bytes::from(text))
            .await
            .expect("append");
    }
    let s = pass(&r, Kind::AuditLogs).await;
    assert_eq!((s.audit_logs_tailed, s.errors), (2, 0), "{s:?}");
    // The two hours read through `AuditLogTail`'s path, their records folded before any write:
    // Alice written once, not once per hour (a write and a merge), the other session once (the
    // first write meets no table and is repeated); each with its day row, inserted unread.
    assert_eq!(
        tables.count(Some("sessions"), Some("write")),
        3,
        "{:?}",
        made(&tables)
    );
    assert_eq!(
        tables.count(Some("sessions"), Some("get")),
        0,
        "{:?}",
        made(&tables)
    );
    assert_eq!(
        tables.count(Some("sessionwindows"), Some("write")),
        3,
        "{:?}",
        made(&tables)
    );
    let alice = crate::catalogue::session::get(tables.as_ref(), ALICE)
        .await
        .expect("read")
        .expect("row");
    assert!(
        alice.session_start.is_some() && alice.session_end.is_some(),
        "both hours: {alice:?}"
    );
}
