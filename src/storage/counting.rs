//! A `BlobStore` decorator that counts calls per operation (an [`Intercepted`] store whose hook
//! counts).
//!
//! Benchmarks and tests wrap any store with it to measure storage round trips (e.g. "ingest costs
//! one properties call and one table write"), without touching the store itself.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::StorageError;
use super::intercept::{BeforeCall, Call, Intercepted};

/// Operation names, in the order of [`BlobCounts`] fields.
const OPS: [&str; 10] = [
    "properties",
    "read_range",
    "list",
    "get_tags",
    "set_tags",
    "find_by_tags",
    "delete_if_match",
    "put",
    "create_append",
    "append",
];

/// Call counts per operation (successful and failed calls alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobCounts {
    /// `properties`
    pub properties: u64,
    /// `read_range`
    pub read_range: u64,
    /// `list`
    pub list: u64,
    /// `get_tags`
    pub get_tags: u64,
    /// `set_tags`
    pub set_tags: u64,
    /// `find_by_tags`
    pub find_by_tags: u64,
    /// `delete_if_match` and `delete_guarded` (conditional deletes)
    pub delete_if_match: u64,
    /// `put`
    pub put: u64,
    /// `create_append`
    pub create_append: u64,
    /// `append`
    pub append: u64,
}

impl BlobCounts {
    /// Sum over all operations.
    pub fn total(&self) -> u64 {
        self.pairs().iter().map(|(_, n)| n).sum()
    }

    /// `(operation, count)` pairs, for reports.
    pub fn pairs(&self) -> [(&'static str, u64); 10] {
        let v = [
            self.properties,
            self.read_range,
            self.list,
            self.get_tags,
            self.set_tags,
            self.find_by_tags,
            self.delete_if_match,
            self.put,
            self.create_append,
            self.append,
        ];
        std::array::from_fn(|i| (OPS[i], v[i]))
    }
}

/// The hook that counts: one counter per operation.
#[derive(Debug, Default)]
pub struct Counter([AtomicU64; 10]);

#[async_trait]
impl<S: Send + Sync + 'static> BeforeCall<S> for Counter {
    async fn before(&self, call: Call<'_>, _: &S) -> Result<(), StorageError> {
        let op = match call {
            Call::Properties(_) => 0,
            Call::ReadRange(_) => 1,
            Call::List(_) => 2,
            Call::GetTags(_) => 3,
            Call::SetTags(_) => 4,
            Call::FindByTags(_) => 5,
            // Both are one conditional Delete Blob round trip.
            Call::DeleteIfMatch(_) | Call::DeleteGuarded(_) => 6,
            Call::Put(_) => 7,
            Call::CreateAppend(_) => 8,
            Call::Append(_) => 9,
        };
        self.0[op].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Wraps a store and counts every call.
pub type CountingBlobStore<S> = Intercepted<S, Counter>;

impl<S> Intercepted<S, Counter> {
    /// Wraps `inner`, counting from zero.
    pub fn new(inner: S) -> Self {
        Self::with(inner, Counter::default())
    }

    /// A snapshot of the counts.
    pub fn counts(&self) -> BlobCounts {
        let n = |i: usize| self.hook().0[i].load(Ordering::Relaxed);
        BlobCounts {
            properties: n(0),
            read_range: n(1),
            list: n(2),
            get_tags: n(3),
            set_tags: n(4),
            find_by_tags: n(5),
            delete_if_match: n(6),
            put: n(7),
            create_append: n(8),
            append: n(9),
        }
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
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::memory::InMemoryBlobStore;
    use crate::storage::{BlobRef, BlobStore, Metadata};

    #[tokio::test]
    async fn counts_each_operation_including_failures() {
        let s = CountingBlobStore::new(InMemoryBlobStore::new("acct"));
        let b = BlobRef::new("c", "b");
        s.put(&b, Bytes::from_static(b"x"), "text/plain", &Metadata::new())
            .await
            .expect("put");
        s.properties(&b).await.expect("props");
        assert!(s.properties(&BlobRef::new("c", "missing")).await.is_err());
        let c = s.counts();
        assert_eq!((c.put, c.properties, c.total()), (1, 2, 3));
        assert_eq!(c.pairs()[0], ("properties", 2));
        s.reset();
        assert_eq!(s.total(), 0);
    }
}
