//! In-memory [`BlobStore`] for fast unit and component tests.
//!
//! Behaves like the service where the product depends on it: ETags change on content writes but not
//! on tag writes, `416` past the end, conditional deletes, tag queries with the service's grammar.
//! Unlike Azure, its tag index is immediately consistent; code must not rely on that.

mod blob;
mod find;
mod seed;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use blob::Blob;
use bytes::Bytes;
use time::OffsetDateTime;

use super::tag_expr::TagExpr;

use bastion_recordings::azure::AzureError;
use bastion_recordings::clock::{Clock, SystemClock};

pub use super::tag_expr::validate_tags;
use bastion_recordings::storage::{
    BlobItem, BlobKind, BlobProps, BlobRef, BlobStore, Metadata, Page, TaggedBlob, Tags, Upload,
};
pub use seed::seed;

/// A storage account held in memory.
#[derive(Debug)]
pub struct InMemoryBlobStore {
    account: String,
    blobs: Mutex<BTreeMap<BlobRef, Blob>>,
    version: AtomicU64,
    calls: AtomicU64,
    page_size: usize,
    interleave: bool,
    /// The service's clock for creation times (the system clock unless a test gives its own,
    /// [`Self::use_clock`]).
    clock: ServiceClock,
}

/// The clock the fake service stamps blobs with.
struct ServiceClock(Mutex<Arc<dyn Clock>>);

impl std::fmt::Debug for ServiceClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceClock")
    }
}

impl InMemoryBlobStore {
    /// An empty account with the given name.
    pub fn new(account: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            blobs: Mutex::default(),
            version: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            page_size: 5000,
            interleave: true,
            clock: ServiceClock(Mutex::new(Arc::new(SystemClock))),
        }
    }

    /// Takes blobs' creation times (`x-ms-creation-time`) from `clock` from now on, so a component
    /// test's fixed clock also says when the storage service created its blobs (`Last-Modified`
    /// stays the system clock's, which moves on between writes).
    pub fn use_clock(&self, clock: Arc<dyn Clock>) {
        *self.clock.0.lock().unwrap_or_else(|p| p.into_inner()) = clock;
    }

    /// The service's time now.
    fn now(&self) -> OffsetDateTime {
        self.clock.0.lock().unwrap_or_else(|p| p.into_inner()).now()
    }

    /// Stops yielding to the scheduler on every call (see [`InMemoryTables::without_interleaving`](
    /// crate::testkit::tables::memory::InMemoryTables::without_interleaving)): for the `handler` binary's
    /// in-memory mode, whose benchmarks measure the handler and not the fake's scheduling.
    pub fn without_interleaving(mut self) -> Self {
        self.interleave = false;
        self
    }

    /// Caps listing pages at `n` entries (the service's default is 5000), to exercise paging.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = (n as usize).max(1);
        self
    }

    /// Number of calls made so far (tests count storage round trips with it).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Whole content of a blob, if it exists.
    pub fn content(&self, blob: &BlobRef) -> Option<Bytes> {
        self.lock().get(blob).map(|b| b.body.clone().freeze())
    }

    /// Names of all blobs in a container.
    pub fn names(&self, container: &str) -> Vec<String> {
        self.lock()
            .keys()
            .filter(|k| k.container == container)
            .map(|k| k.name.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<BlobRef, Blob>> {
        self.blobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a call and (unless built [`without_interleaving`](Self::without_interleaving))
    /// yields once, so concurrent callers interleave the way they would against the network
    /// (races in tests are real races, not sequential runs).
    async fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.interleave {
            tokio::task::yield_now().await;
        }
    }

    /// Counts a call, then reads `blob` through `read`; `NotFound` when there is no such blob.
    async fn read<T>(
        &self,
        blob: &BlobRef,
        read: impl FnOnce(&Blob) -> Result<T, AzureError>,
    ) -> Result<T, AzureError> {
        self.count().await;
        read(self.lock().get(blob).ok_or(AzureError::NotFound)?)
    }

    fn next_etag(&self) -> String {
        format!(
            "0x8D{:014X}",
            self.version.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    fn new_blob(
        &self,
        kind: BlobKind,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Blob {
        Blob::new(
            self.now(),
            kind,
            self.next_etag(),
            body,
            content_type,
            metadata,
        )
    }
}

/// Up to `size` of the `selected` blobs (in name order) from `marker` on, each as `item`; `next`
/// names the first blob of the following page.
fn page_of<'a, T>(
    selected: impl Iterator<Item = (&'a BlobRef, &'a Blob)>,
    marker: Option<&str>,
    size: usize,
    item: impl Fn(&BlobRef, &Blob) -> T,
) -> Page<T> {
    let mut chosen: Vec<_> = selected
        .filter(|(k, _)| marker.is_none_or(|m| k.name.as_str() >= m))
        .take(size + 1)
        .collect();
    let next = (chosen.len() > size)
        .then(|| chosen.pop())
        .flatten()
        .map(|(k, _)| k.name.clone());
    let items = chosen.into_iter().map(|(k, b)| item(k, b)).collect();
    Page { items, next }
}

#[async_trait]
impl BlobStore for InMemoryBlobStore {
    fn account(&self) -> &str {
        &self.account
    }

    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, AzureError> {
        self.read(blob, |b| Ok(b.props.clone())).await
    }

    async fn read_range(&self, blob: &BlobRef, offset: u64, len: u64) -> Result<Bytes, AzureError> {
        self.read(blob, |b| {
            let size = b.body.len() as u64;
            if offset >= size || len == 0 {
                return Err(AzureError::RangeNotSatisfiable);
            }
            let end = offset.saturating_add(len).min(size);
            Ok(Bytes::copy_from_slice(
                &b.body[offset as usize..end as usize],
            ))
        })
        .await
    }

    async fn list(
        &self,
        container: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        self.count().await;
        let blobs = self.lock();
        let listed = blobs
            .iter()
            .filter(|(k, _)| k.container == container && k.name.starts_with(prefix.unwrap_or("")));
        let item = |k: &BlobRef, b: &Blob| BlobItem {
            name: k.name.clone(),
            props: b.props.clone(),
        };
        Ok(page_of(listed, marker.as_deref(), self.page_size, item))
    }

    async fn list_from(
        &self,
        container: &str,
        prefix: &str,
        from: &str,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        self.count().await;
        let blobs = self.lock();
        let listed = blobs.iter().filter(|(k, _)| {
            k.container == container && k.name.starts_with(prefix) && k.name.as_str() >= from
        });
        let item = |k: &BlobRef, b: &Blob| BlobItem {
            name: k.name.clone(),
            props: b.props.clone(),
        };
        Ok(page_of(listed, marker.as_deref(), self.page_size, item))
    }

    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, AzureError> {
        self.read(blob, |b| Ok(b.tags.clone())).await
    }

    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        self.count().await;
        validate_tags(tags)?;
        let cond = TagExpr::condition(if_tags)?;
        let mut blobs = self.lock();
        let b = blobs.get_mut(blob).ok_or(AzureError::NotFound)?;
        if cond.is_some_and(|c| !c.eval(&b.tags)) {
            return Err(AzureError::PreconditionFailed);
        }
        b.tags = tags.clone();
        b.props.tag_count = Some(tags.len() as u32);
        Ok(())
    }

    async fn find_by_tags(
        &self,
        container: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, AzureError> {
        self.count().await;
        let e = TagExpr::parse(expr).map_err(AzureError::Permanent)?;
        Ok(find::page(
            &self.lock(),
            container,
            &e,
            marker.as_deref(),
            self.page_size,
        ))
    }

    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        self.count().await;
        let mut blobs = self.lock();
        blobs
            .get(blob)
            .ok_or(AzureError::NotFound)?
            .guard(etag, if_tags)?;
        blobs.remove(blob);
        Ok(())
    }

    async fn upload(&self, blob: &BlobRef, up: Upload<'_>) -> Result<String, AzureError> {
        self.count().await;
        let new = self.new_blob(BlobKind::Block, up.body, up.content_type, up.metadata);
        let mut blobs = self.lock();
        // An overwrite is stamped with a new creation time, as Azurite does (Microsoft's
        // documentation does not say whether the service keeps the first one).
        if blobs.contains_key(blob) && up.only_new {
            return Err(AzureError::Conflict);
        }
        let etag = new.props.etag.clone();
        blobs.insert(blob.clone(), new);
        Ok(etag)
    }

    async fn create_append(&self, blob: &BlobRef, content_type: &str) -> Result<(), AzureError> {
        self.count().await;
        let new = self.new_blob(
            BlobKind::Append,
            Bytes::new(),
            content_type,
            &Metadata::new(),
        );
        self.lock().insert(blob.clone(), new);
        Ok(())
    }

    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), AzureError> {
        self.count().await;
        let etag = self.next_etag();
        let mut blobs = self.lock();
        let b = blobs.get_mut(blob).ok_or(AzureError::NotFound)?;
        if b.props.kind != Some(BlobKind::Append) {
            return Err(AzureError::Conflict);
        }
        b.body.extend_from_slice(&body);
        b.props.content_length = b.body.len() as u64;
        b.props.etag = etag;
        b.props.last_modified = Some(OffsetDateTime::now_utc());
        Ok(())
    }
}
