//! A store whose calls can be intercepted, to force the 412 (changed, held), 404 and transient
//! paths of the sweep at exactly the moment they matter.

use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;

use crate::testkit::storage::intercept::{BeforeCall, Call, Intercepted};
use crate::testkit::storage::memory::InMemoryBlobStore;
use bastion_recordings::azure::AzureError;
use bastion_recordings::retention::tags::hold_tags;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};

/// What the intercepting store does to one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// Overwrite the blob just before the conditional delete (→ 412).
    OverwriteBeforeDelete(String),
    /// Put a legal hold on the blob's tags just before the conditional delete: the ETag does
    /// not change, only the tag condition of the delete can see it (→ 412).
    HoldBeforeDelete(String),
    /// Delete the blob just before the conditional delete (→ 404).
    VanishBeforeDelete(String),
    /// `properties` fails transiently.
    FailProperties(String),
    /// Another writer stores the blob just before this one's upload (a race to create it).
    PutFirst(String),
}

/// The hooks armed on an in-memory store.
#[derive(Debug, Default)]
pub struct Hooks(Mutex<Vec<Hook>>);

/// An in-memory store with hooks.
pub type Hooked = Intercepted<InMemoryBlobStore, Hooks>;

impl Hooked {
    pub fn arm(&self, h: Hook) {
        self.hook_list().push(h);
    }
    pub fn disarm_all(&self) {
        self.hook_list().clear();
    }
    fn hook_list(&self) -> std::sync::MutexGuard<'_, Vec<Hook>> {
        self.hook().0.lock().expect("hooks")
    }
}

impl Hooks {
    fn has(&self, h: &Hook) -> bool {
        self.0.lock().expect("hooks").contains(h)
    }

    /// Runs the hooks that race a conditional delete: the blob changes, is held, or vanishes
    /// after the sweep's re-check and before its delete.
    async fn before_delete(
        &self,
        blob: &BlobRef,
        inner: &InMemoryBlobStore,
    ) -> Result<(), AzureError> {
        if self.has(&Hook::OverwriteBeforeDelete(blob.name.clone())) {
            let tags = inner.get_tags(blob).await?;
            inner
                .put(
                    blob,
                    Bytes::from_static(b"new"),
                    "application/octet-stream",
                    &Metadata::new(),
                )
                .await?;
            inner.set_tags(blob, &tags, None).await?;
        }
        if self.has(&Hook::VanishBeforeDelete(blob.name.clone())) {
            let p = inner.properties(blob).await?;
            inner.delete_guarded(blob, Some(&p.etag), None).await?;
        }
        if self.has(&Hook::HoldBeforeDelete(blob.name.clone())) {
            let tags = inner.get_tags(blob).await?;
            inner.set_tags(blob, &hold_tags(&tags), None).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl BeforeCall<InMemoryBlobStore> for Hooks {
    async fn before(&self, call: Call<'_>, inner: &InMemoryBlobStore) -> Result<(), AzureError> {
        match call {
            Call::Properties(blob) if self.has(&Hook::FailProperties(blob.name.clone())) => {
                Err(AzureError::Transient("HTTP 503: injected".into()))
            }
            Call::Put(blob) if self.has(&Hook::PutFirst(blob.name.clone())) => inner
                .put(
                    blob,
                    Bytes::from_static(b"the other writer's"),
                    "application/octet-stream",
                    &Metadata::new(),
                )
                .await
                .map(drop),
            Call::Delete(blob) => self.before_delete(blob, inner).await,
            _ => Ok(()),
        }
    }
}
