//! A table decorator for component tests: counts calls per table and operation, and can make every
//! call take time on a fixed clock (a slow store, without sleeping).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use time::Duration;

use crate::clock::FixedClock;
use crate::tables::{Entity, Filter, QueryPage, Stored, TableError, TableStore, WriteMode};

pub struct Tally {
    inner: Arc<dyn TableStore>,
    counts: Mutex<BTreeMap<(String, &'static str), u64>>,
    slow: Option<(Arc<FixedClock>, Duration)>,
}

impl Tally {
    pub fn new(inner: Arc<dyn TableStore>) -> Self {
        Self {
            inner,
            counts: Mutex::default(),
            slow: None,
        }
    }

    /// Every call advances `clock` by `per_call`.
    pub fn slow(mut self, clock: Arc<FixedClock>, per_call: Duration) -> Self {
        self.slow = Some((clock, per_call));
        self
    }

    /// Calls so far: all of them, or those on `table` with operation `op` (`get`, `write`,
    /// `delete`, `query`, `ensure`).
    pub fn count(&self, table: Option<&str>, op: Option<&str>) -> u64 {
        self.counts
            .lock()
            .expect("lock")
            .iter()
            .filter(|((t, o), _)| table.is_none_or(|x| x == t) && op.is_none_or(|x| x == *o))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn reset(&self) {
        self.counts.lock().expect("lock").clear();
    }

    fn hit(&self, table: &str, op: &'static str) {
        *self
            .counts
            .lock()
            .expect("lock")
            .entry((table.to_owned(), op))
            .or_default() += 1;
        if let Some((clock, d)) = &self.slow {
            clock.advance(*d);
        }
    }
}

#[async_trait::async_trait]
impl TableStore for Tally {
    async fn ensure_table(&self, t: &str) -> Result<(), TableError> {
        self.hit(t, "ensure");
        self.inner.ensure_table(t).await
    }
    async fn get(&self, t: &str, pk: &str, rk: &str) -> Result<Option<Stored>, TableError> {
        self.hit(t, "get");
        self.inner.get(t, pk, rk).await
    }
    async fn write(&self, t: &str, e: &Entity, mode: WriteMode) -> Result<String, TableError> {
        self.hit(t, "write");
        self.inner.write(t, e, mode).await
    }
    async fn delete(
        &self,
        t: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), TableError> {
        self.hit(t, "delete");
        self.inner.delete(t, pk, rk, etag).await
    }
    async fn query(
        &self,
        t: &str,
        f: Option<&Filter>,
        top: Option<u32>,
        next: Option<String>,
    ) -> Result<QueryPage, TableError> {
        self.hit(t, "query");
        self.inner.query(t, f, top, next).await
    }
}
