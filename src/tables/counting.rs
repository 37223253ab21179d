//! A `TableStore` decorator that counts calls per operation (an [`InterceptedTables`] store whose
//! hook counts).
//!
//! Benchmarks and tests wrap any table store with it to measure round trips per invocation.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::TableError;
use super::intercept::{BeforeTableCall, InterceptedTables, TableCall};

/// Call counts per operation (successful and failed calls alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCounts {
    /// `ensure_table`
    pub ensure_table: u64,
    /// `get`
    pub get: u64,
    /// `write`
    pub write: u64,
    /// `delete`
    pub delete: u64,
    /// `query` (one per page)
    pub query: u64,
}

impl TableCounts {
    /// Sum over all operations.
    pub fn total(&self) -> u64 {
        self.ensure_table + self.get + self.write + self.delete + self.query
    }
}

/// The hook that counts: one counter per operation, in [`TableCounts`] field order (which is
/// [`TableCall::op_index`]'s), and the
/// same per (operation, table) — which table the calls go to is what explains a count.
#[derive(Debug, Default)]
pub struct TableCounter([AtomicU64; 5], Mutex<BTreeMap<(usize, String), u64>>);

#[async_trait]
impl BeforeTableCall for TableCounter {
    async fn before(&self, call: TableCall<'_>) -> Result<(), TableError> {
        let (op, table) = (call.op_index(), call.table());
        self.0[op].fetch_add(1, Ordering::Relaxed);
        // A lock per call is noise beside a round trip; the decorator serves tests and benches.
        if let Ok(mut by) = self.1.lock() {
            *by.entry((op, table.to_owned())).or_default() += 1;
        }
        Ok(())
    }
}

/// Wraps a table store and counts every call.
pub type CountingTables<T> = InterceptedTables<T, TableCounter>;

impl<T> InterceptedTables<T, TableCounter> {
    /// Wraps `inner`, counting from zero.
    pub fn new(inner: T) -> Self {
        Self::with(inner, TableCounter::default())
    }

    /// A snapshot of the counts.
    pub fn counts(&self) -> TableCounts {
        let n = |i: usize| self.hook().0[i].load(Ordering::Relaxed);
        TableCounts {
            ensure_table: n(0),
            get: n(1),
            write: n(2),
            delete: n(3),
            query: n(4),
        }
    }

    /// `(operation, table, count)` for every pair called at least once, by operation then table.
    pub fn by_table(&self) -> Vec<(&'static str, String, u64)> {
        let by = self.hook().1.lock().map(|m| m.clone()).unwrap_or_default();
        by.into_iter()
            .map(|((op, table), n)| (TableCall::OPERATIONS[op], table, n))
            .collect()
    }

    /// Total calls so far.
    pub fn total(&self) -> u64 {
        self.counts().total()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        self.hook()
            .0
            .iter()
            .for_each(|c| c.store(0, Ordering::Relaxed));
        if let Ok(mut by) = self.hook().1.lock() {
            by.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tables::memory::InMemoryTables;
    use crate::tables::{TableStore, WriteMode};

    #[tokio::test]
    async fn counts_each_operation_including_failures() {
        let t = CountingTables::new(InMemoryTables::new());
        let e = json!({"PartitionKey": "p", "RowKey": "r"})
            .as_object()
            .cloned()
            .expect("object");
        assert!(
            t.write("t", &e, WriteMode::Upsert).await.is_err(),
            "no table yet"
        );
        t.ensure_table("t").await.expect("create");
        t.write("t", &e, WriteMode::Upsert).await.expect("write");
        t.get("t", "p", "r").await.expect("get");
        let c = t.counts();
        assert_eq!((c.ensure_table, c.write, c.get, c.total()), (1, 2, 1, 4));
        t.query("u", None, None, None).await.ok();
        assert_eq!(
            t.by_table(),
            vec![
                ("ensure", "t".to_owned(), 1),
                ("get", "t".to_owned(), 1),
                ("write", "t".to_owned(), 2),
                ("query", "u".to_owned(), 1),
            ]
        );
        t.reset();
        assert_eq!((t.total(), t.by_table().len()), (0, 0));
    }
}
