//! A [`BlobStore`] decorator that counts calls per operation.
//!
//! Benchmarks and tests wrap any store with it to measure storage round trips (e.g. "ingest costs
//! one properties call and one table write"), without touching the store itself.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    BlobItem, BlobProps, BlobRef, BlobStore, Metadata, Page, StorageError, TaggedBlob, Tags,
};

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

/// Wraps a store and counts every call.
#[derive(Debug, Default)]
pub struct CountingBlobStore<S> {
    inner: S,
    counts: [AtomicU64; 10],
}

impl<S> CountingBlobStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            counts: Default::default(),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// A snapshot of the counts.
    pub fn counts(&self) -> BlobCounts {
        let n = |i: usize| self.counts[i].load(Ordering::Relaxed);
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
        self.counts
            .iter()
            .for_each(|c| c.store(0, Ordering::Relaxed));
    }

    fn hit(&self, op: usize) {
        self.counts[op].fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl<S: BlobStore> BlobStore for CountingBlobStore<S> {
    fn account(&self) -> &str {
        self.inner.account()
    }
    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, StorageError> {
        self.hit(0);
        self.inner.properties(blob).await
    }
    async fn read_range(
        &self,
        blob: &BlobRef,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, StorageError> {
        self.hit(1);
        self.inner.read_range(blob, offset, len).await
    }
    async fn list(
        &self,
        c: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, StorageError> {
        self.hit(2);
        self.inner.list(c, prefix, marker).await
    }
    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, StorageError> {
        self.hit(3);
        self.inner.get_tags(blob).await
    }
    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        self.hit(4);
        self.inner.set_tags(blob, tags, if_tags).await
    }
    async fn find_by_tags(
        &self,
        c: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, StorageError> {
        self.hit(5);
        self.inner.find_by_tags(c, expr, marker).await
    }
    async fn delete_if_match(&self, blob: &BlobRef, etag: &str) -> Result<(), StorageError> {
        self.hit(6);
        self.inner.delete_if_match(blob, etag).await
    }
    /// Counted as `delete_if_match`: both are one conditional Delete Blob round trip.
    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        self.hit(6);
        self.inner.delete_guarded(blob, etag, if_tags).await
    }
    async fn put(
        &self,
        blob: &BlobRef,
        body: Bytes,
        ct: &str,
        meta: &Metadata,
    ) -> Result<String, StorageError> {
        self.hit(7);
        self.inner.put(blob, body, ct, meta).await
    }
    async fn create_append(&self, blob: &BlobRef, ct: &str) -> Result<(), StorageError> {
        self.hit(8);
        self.inner.create_append(blob, ct).await
    }
    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), StorageError> {
        self.hit(9);
        self.inner.append(blob, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::InMemoryBlobStore;

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
