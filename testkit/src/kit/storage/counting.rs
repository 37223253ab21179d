//! The counting decorator's blob side: an [`Intercepted`] blob store whose hook, [`Counter`],
//! counts calls per (operation, container).
//!
//! Benchmarks and tests wrap any store with it to measure storage round trips (e.g. "ingest costs
//! one properties call and one table write"), without touching the store itself; which container
//! or table the calls go to is what explains a count.

use async_trait::async_trait;

use super::intercept::{BeforeCall, Call, Intercepted};
pub use crate::testkit::intercept::Counter;
use bastion_recordings::azure::AzureError;

#[async_trait]
impl<S: Send + Sync + 'static> BeforeCall<S> for Counter {
    async fn before(&self, call: Call<'_>, _: &S) -> Result<(), AzureError> {
        self.hit(call.name(), call.container());
        Ok(())
    }
}

/// Wraps a blob store and counts every call.
pub type CountingBlobStore<S> = Intercepted<S, Counter>;

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::testkit::storage::memory::InMemoryBlobStore;
    use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};

    #[tokio::test]
    async fn counts_each_operation_including_failures() {
        let s = CountingBlobStore::new(InMemoryBlobStore::new("acct"));
        let b = BlobRef::new("c", "b");
        s.put(&b, Bytes::from_static(b"x"), "text/plain", &Metadata::new())
            .await
            .expect("put");
        s.properties(&b).await.expect("props");
        assert!(s.properties(&BlobRef::new("d", "missing")).await.is_err());
        s.delete_guarded(&b, Some("0x0"), None).await.ok();
        let by_op = |op| s.count(None, Some(op));
        assert_eq!((by_op("put"), by_op("properties"), s.total()), (1, 2, 4));
        assert_eq!(s.count(Some("d"), None), 1);
        assert_eq!(s.by_table()[0], ("delete", "c".to_owned(), 1));
        s.reset();
        assert_eq!(s.total(), 0);
    }
}
