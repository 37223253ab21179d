//! [`update`] over the in-memory table, with writes that race or lose their answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;

const T: &str = "things";

/// What happens around the next write.
enum Before {
    /// Another writer puts this entity first (`None`: deletes the row).
    Race(Option<Entity>),
    /// The write commits but its answer is lost (the client sees 412).
    Lost,
    /// The write is refused with this error and not made.
    Refuse(fn() -> AzureError),
}

/// Scripts the writes to the in-memory table (which it shares) and remembers each write's mode.
#[derive(Default)]
struct Script {
    table: Arc<InMemoryTables>,
    next: Mutex<VecDeque<Before>>,
    modes: Mutex<Vec<WriteMode>>,
    always_refuse: bool,
}

#[async_trait]
impl BeforeTableCall for Script {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        let TableCall::Write(table, mode, e) = call else {
            return Ok(());
        };
        self.modes.lock().expect("lock").push(mode.clone());
        if self.always_refuse {
            return Err(AzureError::PreconditionFailed);
        }
        let next = self.next.lock().expect("lock").pop_front();
        match next {
            Some(Before::Race(Some(other))) => {
                self.table.ensure_table(table).await?;
                self.table.write(table, &other, WriteMode::Upsert).await?;
            }
            Some(Before::Race(None)) => self.table.delete(table, "p", "r", None).await?,
            Some(Before::Lost) => {
                self.table.write(table, e, mode.clone()).await?;
                return Err(AzureError::PreconditionFailed);
            }
            Some(Before::Refuse(err)) => return Err(err()),
            None => {}
        }
        Ok(())
    }
}

type Scripted = Intercepted<Arc<InMemoryTables>, Script>;

fn scripted(script: Vec<Before>, always_refuse: bool) -> Scripted {
    let table = Arc::new(InMemoryTables::new());
    let hook = Script {
        table: table.clone(),
        next: Mutex::new(script.into()),
        modes: Mutex::default(),
        always_refuse,
    };
    Intercepted::with(table, hook)
}

/// Puts `row(n)` behind the script's back; its ETag.
async fn put(tables: &Scripted, n: i64) -> String {
    let inner = tables.inner();
    inner.ensure_table(T).await.expect("table");
    inner
        .write(T, &row(n), WriteMode::Upsert)
        .await
        .expect("put")
}

fn modes(tables: &Scripted) -> Vec<WriteMode> {
    tables.hook().modes.lock().expect("lock").clone()
}

fn row(n: i64) -> Entity {
    json!({"PartitionKey": "p", "RowKey": "r", "N": n})
        .as_object()
        .cloned()
        .expect("object")
}

fn n_of(s: Option<&Stored>) -> Option<i64> {
    s.and_then(|s| s.entity.get("N")).and_then(Value::as_i64)
}

/// Adds one to `N` (absent: 0), counting the calls.
async fn bump(tables: &Scripted, calls: &mut usize) -> Result<Option<Stored>, AzureError> {
    update(tables, T, "p", "r", &mut |cur| {
        *calls += 1;
        Some(row(n_of(cur).map_or(0, |n| n + 1)))
    })
    .await
}

#[tokio::test]
async fn inserts_when_absent_even_without_the_table() {
    let tables = scripted(Vec::new(), false);
    let mut calls = 0;
    let stored = bump(&tables, &mut calls).await.expect("update");
    assert_eq!((n_of(stored.as_ref()), calls), (Some(0), 1));
    assert_eq!(modes(&tables), [WriteMode::Insert, WriteMode::Insert]);
    let read = get(&tables, T, "p", "r").await.expect("get");
    assert_eq!(read.map(|s| s.etag), stored.map(|s| s.etag));
}

#[tokio::test]
async fn writes_if_match_when_present() {
    let tables = scripted(Vec::new(), false);
    let etag = put(&tables, 4).await;
    let mut calls = 0;
    let stored = bump(&tables, &mut calls).await.expect("update");
    assert_eq!(n_of(stored.as_ref()), Some(5));
    assert_eq!(modes(&tables), [WriteMode::IfMatch(etag)]);
}

#[tokio::test]
async fn a_lost_race_reads_again_and_decides_again() {
    // 412: changed meanwhile; 409: inserted meanwhile; 404 on If-Match: deleted meanwhile.
    for (start, race, want) in [
        (Some(1), Some(10), 11),
        (None, Some(10), 11),
        (Some(1), None, 0),
    ] {
        let tables = scripted(vec![Before::Race(race.map(row))], false);
        tables.inner().ensure_table(T).await.expect("table");
        if let Some(n) = start {
            put(&tables, n).await;
        }
        let mut calls = 0;
        let stored = bump(&tables, &mut calls).await.expect("update");
        assert_eq!(
            (n_of(stored.as_ref()), calls),
            (Some(want), 2),
            "{start:?} {race:?}"
        );
    }
}

#[tokio::test]
async fn gives_up_as_transient_after_the_attempts() {
    let tables = scripted(Vec::new(), true);
    let mut calls = 0;
    let err = bump(&tables, &mut calls).await.expect_err("kept changing");
    assert!(err.is_retryable(), "{err}");
    assert_eq!((calls, modes(&tables).len()), (ATTEMPTS, ATTEMPTS));
}

#[tokio::test]
async fn other_errors_end_it_at_once() {
    let tables = scripted(
        vec![Before::Refuse(|| {
            AzureError::refused(413, "RequestBodyTooLarge", "big")
        })],
        false,
    );
    let mut calls = 0;
    let err = bump(&tables, &mut calls).await.expect_err("refused");
    assert!(matches!(err, AzureError::Rejected { .. }), "{err}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn none_writes_nothing_and_returns_the_row_as_read() {
    let tables = scripted(Vec::new(), false);
    put(&tables, 3).await;
    let stored = update(&tables, T, "p", "r", &mut |_| None)
        .await
        .expect("update");
    assert_eq!(n_of(stored.as_ref()), Some(3));
    let absent = update(&tables, T, "p", "other", &mut |_| None)
        .await
        .expect("update");
    assert_eq!((absent, modes(&tables).len()), (None, 0));
}

#[tokio::test]
async fn a_lost_answer_is_recognised_on_the_re_read() {
    let tables = scripted(vec![Before::Lost], false);
    tables.inner().ensure_table(T).await.expect("table");
    let mut calls = 0;
    let stored = update(&tables, T, "p", "r", &mut |cur| {
        calls += 1;
        // Idempotent: a row that already holds the mark needs nothing.
        (n_of(cur) != Some(1)).then(|| row(1))
    })
    .await
    .expect("update");
    assert_eq!((n_of(stored.as_ref()), calls), (Some(1), 2));
    assert_eq!(modes(&tables).len(), 1, "written once");
}

#[tokio::test]
async fn update_from_starts_with_the_row_in_hand() {
    let tables = scripted(Vec::new(), false);
    put(&tables, 7).await;
    let read = get(&tables, T, "p", "r").await.expect("get");
    let calls_before = tables.inner().calls();
    let stored = update_from(&tables, T, "p", "r", read, &mut |cur| {
        Some(row(n_of(cur).unwrap_or_default() + 1))
    })
    .await
    .expect("update");
    assert_eq!(n_of(stored.as_ref()), Some(8));
    assert_eq!(
        tables.inner().calls() - calls_before,
        1,
        "no read, one write"
    );
}

#[tokio::test]
async fn query_all_stops_at_the_limit_and_takes_no_table_for_no_rows() {
    let tables = InMemoryTables::new();
    let all = Filter::partition("p");
    assert!(
        query_all(&tables, T, &all, 10)
            .await
            .expect("query")
            .is_empty()
    );
    for k in 0..5 {
        let e = json!({"PartitionKey": "p", "RowKey": format!("r{k}")});
        let e = e.as_object().cloned().expect("object");
        write_creating_table(&tables, T, &e, WriteMode::Insert)
            .await
            .expect("write");
    }
    assert_eq!(
        query_all(&tables, T, &all, 3).await.expect("query").len(),
        3
    );
    assert_eq!(
        query_all(&tables, T, &all, 10).await.expect("query").len(),
        5
    );
}

#[tokio::test]
async fn upsert_batched_creates_a_missing_table_and_sends_the_batches_again_not_row_by_row() {
    let tables = crate::testkit::tables::intercept::CountingTables::new(InMemoryTables::new());
    let rows: Vec<Entity> = (0..150)
        .map(|k| {
            let e = json!({"PartitionKey": "p", "RowKey": format!("r{k:03}")});
            e.as_object().cloned().expect("object")
        })
        .collect();
    upsert_batched(&tables, T, &rows).await.expect("upsert");
    assert_eq!(
        (
            tables.count(Some(T), Some("batch")),
            tables.count(Some(T), Some("ensure")),
            tables.count(Some(T), Some("write")),
        ),
        (3, 1, 0),
        "one batch refused for the missing table, the table, then both batches"
    );
    let all = Filter::partition("p");
    assert_eq!(
        query_all(&tables, T, &all, 500).await.expect("query").len(),
        150
    );
}

#[tokio::test]
async fn insert_once_creates_the_table_and_keeps_the_first_row() {
    let tables = InMemoryTables::new();
    let row = |v: i64| {
        let e = json!({"PartitionKey": "p", "RowKey": "r", "V": v});
        e.as_object().cloned().expect("object")
    };
    let first = insert_once(&tables, T, &row(1)).await.expect("insert");
    assert!(
        matches!(first, Once::Inserted(ref etag) if !etag.is_empty()),
        "{first:?}"
    );
    let again = insert_once(&tables, T, &row(2)).await.expect("insert");
    assert_eq!(again, Once::Existed);
    let kept = get(&tables, T, "p", "r").await.expect("get").expect("row");
    assert_eq!(kept.entity["V"], 1);
}
