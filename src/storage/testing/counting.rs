//! The counting decorator of both ports: an [`Intercepted`] store whose hook counts calls per
//! (operation, container or table).
//!
//! Benchmarks and tests wrap any store with it to measure storage round trips (e.g. "ingest costs
//! one properties call and one table write"), without touching the store itself; which container
//! or table the calls go to is what explains a count.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::intercept::{BeforeCall, Call, Intercepted};

use crate::azure::AzureError;

/// Calls per (operation, target): an operation is the port method's name.
type Hits = BTreeMap<(&'static str, String), u64>;

/// The hook that counts every call (successful and failed alike), and may run a closure on each.
#[derive(Default)]
pub struct Counter {
    hits: Mutex<Hits>,
    each: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Counter {
    /// Counts one call of `op` on `target` (a container or a table).
    pub fn hit(&self, op: &'static str, target: &str) {
        // A lock per call is noise beside a round trip; the decorator serves tests and benches.
        if let Ok(mut hits) = self.hits.lock() {
            *hits.entry((op, target.to_owned())).or_default() += 1;
        }
        if let Some(each) = &self.each {
            each();
        }
    }

    fn hits(&self) -> Hits {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl<S: Send + Sync + 'static> BeforeCall<S> for Counter {
    async fn before(&self, call: Call<'_>, _: &S) -> Result<(), AzureError> {
        self.hit(call.name(), call.container());
        Ok(())
    }
}

/// Wraps a blob store and counts every call.
pub type CountingBlobStore<S> = Intercepted<S, Counter>;

impl<S> Intercepted<S, Counter> {
    /// Wraps `inner`, counting from zero.
    pub fn new(inner: S) -> Self {
        Self::with(inner, Counter::default())
    }

    /// Wraps `inner`, counting, and runs `each` on every call (a test advances its clock there:
    /// a slow store without sleeping).
    pub fn on_each_call(inner: S, each: impl Fn() + Send + Sync + 'static) -> Self {
        let each: Box<dyn Fn() + Send + Sync> = Box::new(each);
        let hook = Counter {
            each: Some(each),
            ..Counter::default()
        };
        Self::with(inner, hook)
    }

    /// Calls so far: all of them, or those on `target` (container or table), of operation `op`.
    pub fn count(&self, target: Option<&str>, op: Option<&str>) -> u64 {
        let hits = self.hook().hits();
        hits.iter()
            .filter(|((o, t), _)| target.is_none_or(|x| x == t) && op.is_none_or(|x| x == *o))
            .map(|(_, n)| n)
            .sum()
    }

    /// `(operation, target, count)` for every pair called at least once, by operation then target.
    pub fn by_table(&self) -> Vec<(&'static str, String, u64)> {
        let hits = self.hook().hits();
        hits.into_iter().map(|((op, t), n)| (op, t, n)).collect()
    }

    /// Total calls so far.
    pub fn total(&self) -> u64 {
        self.count(None, None)
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        if let Ok(mut hits) = self.hook().hits.lock() {
            hits.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::testing::memory::InMemoryBlobStore;
    use crate::storage::{BlobRef, BlobStore, Metadata};

    #[tokio::test]
    async fn counts_each_operation_including_failures() {
        let s = CountingBlobStore::new(InMemoryBlobStore::new("acct"));
        let b = BlobRef::new("c", "b");
        s.put(&b, Bytes::from_static(b"x"), "text/plain", &Metadata::new())
            .await
            .expect("put");
        s.properties(&b).await.expect("props");
        assert!(s.properties(&BlobRef::new("d", "missing")).await.is_err());
        s.delete_if_match(&b, "0x0").await.ok();
        let by_op = |op| s.count(None, Some(op));
        assert_eq!((by_op("put"), by_op("properties"), s.total()), (1, 2, 4));
        assert_eq!(s.count(Some("d"), None), 1);
        assert_eq!(s.by_table()[0], ("delete", "c".to_owned(), 1));
        s.reset();
        assert_eq!(s.total(), 0);
    }
}
