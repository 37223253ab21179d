//! A [`TableStore`] decorator that counts calls per operation.
//!
//! Benchmarks and tests wrap any table store with it to measure round trips per invocation.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{Entity, Filter, QueryPage, Stored, TableError, TableStore, WriteMode};

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

/// Wraps a table store and counts every call.
#[derive(Debug, Default)]
pub struct CountingTables<T> {
    inner: T,
    counts: [AtomicU64; 5],
}

impl<T> CountingTables<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            counts: Default::default(),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// A snapshot of the counts.
    pub fn counts(&self) -> TableCounts {
        let n = |i: usize| self.counts[i].load(Ordering::Relaxed);
        TableCounts {
            ensure_table: n(0),
            get: n(1),
            write: n(2),
            delete: n(3),
            query: n(4),
        }
    }

    /// Total calls so far.
    pub fn total(&self) -> u64 {
        self.counts().total()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        self.counts
            .iter()
            .for_each(|c| c.store(0, Ordering::Relaxed));
    }

    fn hit(&self, op: usize) {
        self.counts[op].fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl<T: TableStore> TableStore for CountingTables<T> {
    async fn ensure_table(&self, table: &str) -> Result<(), TableError> {
        self.hit(0);
        self.inner.ensure_table(table).await
    }
    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, TableError> {
        self.hit(1);
        self.inner.get(table, pk, rk).await
    }
    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, TableError> {
        self.hit(2);
        self.inner.write(table, entity, mode).await
    }
    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), TableError> {
        self.hit(3);
        self.inner.delete(table, pk, rk, etag).await
    }
    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, TableError> {
        self.hit(4);
        self.inner.query(table, filter, top, continuation).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tables::memory::InMemoryTables;

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
        t.reset();
        assert_eq!(t.total(), 0);
    }
}
