//! A store whose calls can be intercepted, to force the 412 (changed, held), 404 and transient
//! paths of the sweep at exactly the moment they matter.

use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;

use crate::retention::tags::hold_tags;
use crate::storage::memory::InMemoryBlobStore;
use crate::storage::{
    BlobItem, BlobProps, BlobRef, BlobStore, Metadata, Page, StorageError, TaggedBlob, Tags,
};

/// What the intercepting store does to one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hook {
    /// Overwrite the blob just before the conditional delete (→ 412).
    OverwriteBeforeDelete(String),
    /// Put a legal hold on the blob's tags just before the conditional delete: the ETag does
    /// not change, only the tag condition of the delete can see it (→ 412).
    HoldBeforeDelete(String),
    /// Delete the blob just before the conditional delete (→ 404).
    VanishBeforeDelete(String),
    /// `properties` fails transiently.
    FailProperties(String),
}

/// An in-memory store with hooks.
#[derive(Debug)]
pub(crate) struct Hooked {
    pub(crate) inner: InMemoryBlobStore,
    pub(crate) hooks: Mutex<Vec<Hook>>,
}

impl Hooked {
    pub(crate) fn hook(&self, h: Hook) {
        self.hooks.lock().expect("hooks").push(h);
    }
    fn has(&self, h: &Hook) -> bool {
        self.hooks.lock().expect("hooks").contains(h)
    }
    /// Runs the hooks that race a conditional delete: the blob changes, is held, or vanishes
    /// after the sweep's re-check and before its delete.
    async fn before_delete(&self, blob: &BlobRef) -> Result<(), StorageError> {
        if self.has(&Hook::OverwriteBeforeDelete(blob.name.clone())) {
            let tags = self.inner.get_tags(blob).await?;
            self.inner
                .put(
                    blob,
                    Bytes::from_static(b"new"),
                    "application/octet-stream",
                    &Metadata::new(),
                )
                .await?;
            self.inner.set_tags(blob, &tags, None).await?;
        }
        if self.has(&Hook::VanishBeforeDelete(blob.name.clone())) {
            let p = self.inner.properties(blob).await?;
            self.inner.delete_if_match(blob, &p.etag).await?;
        }
        if self.has(&Hook::HoldBeforeDelete(blob.name.clone())) {
            let tags = self.inner.get_tags(blob).await?;
            self.inner.set_tags(blob, &hold_tags(&tags), None).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for Hooked {
    fn account(&self) -> &str {
        self.inner.account()
    }
    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, StorageError> {
        if self.has(&Hook::FailProperties(blob.name.clone())) {
            return Err(StorageError::Transient("HTTP 503: injected".into()));
        }
        self.inner.properties(blob).await
    }
    async fn read_range(
        &self,
        blob: &BlobRef,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, StorageError> {
        self.inner.read_range(blob, offset, len).await
    }
    async fn list(
        &self,
        container: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, StorageError> {
        self.inner.list(container, prefix, marker).await
    }
    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, StorageError> {
        self.inner.get_tags(blob).await
    }
    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        self.inner.set_tags(blob, tags, if_tags).await
    }
    async fn find_by_tags(
        &self,
        container: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, StorageError> {
        self.inner.find_by_tags(container, expr, marker).await
    }
    async fn delete_if_match(&self, blob: &BlobRef, etag: &str) -> Result<(), StorageError> {
        self.before_delete(blob).await?;
        self.inner.delete_if_match(blob, etag).await
    }
    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        self.before_delete(blob).await?;
        self.inner.delete_guarded(blob, etag, if_tags).await
    }
    async fn put(
        &self,
        blob: &BlobRef,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<String, StorageError> {
        self.inner.put(blob, body, content_type, metadata).await
    }
    async fn create_append(&self, blob: &BlobRef, content_type: &str) -> Result<(), StorageError> {
        self.inner.create_append(blob, content_type).await
    }
    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), StorageError> {
        self.inner.append(blob, body).await
    }
}
