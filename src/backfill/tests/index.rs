//! The index rows of a backfill's recordings: written by its join pass, once per partition for the
//! whole run, and written by the next run when they could not be.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::azure::AzureError;
use crate::catalogue::key::index_keys;
use crate::tables::get_str;
use crate::testkit::state_over;
use crate::testkit::tables::intercept::{BeforeTableCall, CountingTables, Intercepted, TableCall};

/// Four recordings over two listing pages: three name sessions of the audit hour, one nothing.
const NAMES: [&str; 4] = [
    "PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.mp4",
    "other/unmatched.mp4",
    "vm/a1b2c3d4-0000-4000-8000-000000000002.mp4",
    "vm/c0ffee00-1111-4222-8333-444455556666.mp4",
];

/// The index rows the catalogue's rows call for (sorted), and those stored.
async fn index_rows(tables: &dyn TableStore) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let all = |t: &'static str| async move {
        let (mut rows, mut next) = (Vec::new(), None);
        loop {
            let page = match tables.query(t, None, None, next).await {
                Ok(page) => page,
                Err(AzureError::NotFound) => return rows,
                Err(e) => panic!("query {t}: {e}"),
            };
            rows.extend(page.items);
            next = page.next;
            if next.is_none() {
                return rows;
            }
        }
    };
    let mut want: Vec<_> = all("recordings")
        .await
        .iter()
        .filter_map(|r| crate::catalogue::recording::Recording::from_entity(&r.entity))
        .flat_map(|r| index_keys(&r.key, &r))
        .collect();
    want.sort();
    let key = |s: &crate::tables::Stored| {
        let v = |k| get_str(&s.entity, k).unwrap_or_default().to_owned();
        (v("PartitionKey"), v("RowKey"))
    };
    let mut have: Vec<_> = all(INDEX_TABLE).await.iter().map(key).collect();
    have.sort();
    (want, have)
}

#[tokio::test]
async fn index_rows_of_every_page_are_written_once_per_partition() {
    let blobs = Arc::new(InMemoryBlobStore::new("devstoreaccount1").with_page_size(2));
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let r = Rig {
        state: state_over(
            blobs.clone(),
            tables.clone(),
            datetime!(2025-03-14 10:30 UTC),
        ),
        blobs,
        tables: Arc::new(InMemoryTables::new()),
    };
    r.audit_log().await;
    for name in NAMES {
        r.recording(name).await;
    }
    let only = |kind| Options {
        kinds: vec![kind],
        ..opts()
    };
    r.run(&only(Kind::AuditLogs)).await;
    tables.reset();
    let (s, _) = r.run(&only(Kind::Recordings)).await;
    assert_eq!((s.catalogued, s.errors), (4, 0), "{s:?}");
    let (want, have) = index_rows(tables.as_ref()).await;
    assert!(!want.is_empty());
    assert_eq!(have, want);
    let partitions: std::collections::BTreeSet<_> = want.iter().map(|(pk, _)| pk).collect();
    // One batch per partition although the rows came from two listing pages (and the first one
    // sent again once it met no table and created it), no row written alone.
    let batches = tables.count(Some(INDEX_TABLE), Some("batch"));
    let alone = tables.count(Some(INDEX_TABLE), Some("write"));
    assert_eq!(
        (batches, alone),
        (partitions.len() as u64 + 1, 0),
        "{:?}",
        tables.by_table()
    );
}

/// Fails every `recordingindex` batch and write while `down` is set.
struct IndexDown {
    down: AtomicBool,
}

#[async_trait::async_trait]
impl BeforeTableCall for IndexDown {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        let index = matches!(
            call,
            TableCall::Batch(INDEX_TABLE, _) | TableCall::Write(INDEX_TABLE, ..)
        );
        if index && self.down.load(Ordering::SeqCst) {
            return Err(AzureError::Transient("HTTP 503: busy".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn index_rows_not_written_fail_the_run_and_the_next_run_writes_them() {
    let mut r = rig();
    let hook = IndexDown {
        down: AtomicBool::new(true),
    };
    let flaky = Arc::new(Intercepted::with(r.state.ports.tables.clone(), hook));
    r.state.ports.tables = flaky.clone();
    r.audit_log().await;
    for name in NAMES {
        r.recording(name).await;
    }
    let only = Options {
        kinds: vec![Kind::Recordings],
        ..opts()
    };
    r.run(&Options {
        kinds: vec![Kind::AuditLogs],
        ..opts()
    })
    .await;
    let failed = run(&r.state, &only, &mut Progress::hidden(), &mut |_, _| {}).await;
    assert!(failed.is_err(), "the rows could not be written: {failed:?}");
    let (want, have) = index_rows(r.state.ports.tables.as_ref()).await;
    assert!(have.is_empty() && !want.is_empty(), "{have:?}");

    flaky.hook().down.store(false, Ordering::SeqCst);
    let (s, _) = r.run(&only).await;
    assert_eq!(
        (
            s.catalogued,
            s.errors,
            s.joined.as_ref().map(|j| j.evaluated)
        ),
        (0, 0, Some(4)),
        "the walks were done; the join pass decides the range again: {s:?}"
    );
    let (want, have) = index_rows(r.state.ports.tables.as_ref()).await;
    assert_eq!(
        have, want,
        "the next run's join pass wrote the missing rows"
    );
}
