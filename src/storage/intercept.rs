//! A [`BlobStore`] decorator that runs a hook before every call, then forwards it.
//!
//! Counting round trips ([`super::counting`]) and injecting faults or races in tests both need
//! "do something, then call the wrapped store". The forwarding of every trait method lives here
//! once; a hook only says what happens before which [`Call`].

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    BlobItem, BlobProps, BlobRef, BlobStore, Metadata, Page, StorageError, TaggedBlob, Tags,
};

/// The call about to be made, with the blob (or container) it addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call<'a> {
    /// `properties`
    Properties(&'a BlobRef),
    /// `read_range`
    ReadRange(&'a BlobRef),
    /// `list` (container)
    List(&'a str),
    /// `get_tags`
    GetTags(&'a BlobRef),
    /// `set_tags`
    SetTags(&'a BlobRef),
    /// `find_by_tags` (container)
    FindByTags(&'a str),
    /// `delete_if_match`
    DeleteIfMatch(&'a BlobRef),
    /// `delete_guarded`
    DeleteGuarded(&'a BlobRef),
    /// `put`, `put_new`
    Put(&'a BlobRef),
    /// `create_append`
    CreateAppend(&'a BlobRef),
    /// `append`
    Append(&'a BlobRef),
}

/// What runs before each call. An error is returned in place of the call's own result (the
/// wrapped store is then not called).
#[async_trait]
pub trait BeforeCall<S>: Send + Sync + 'static {
    /// Runs before `call`; `inner` is the wrapped store (a hook may use it to stage a race).
    async fn before(&self, call: Call<'_>, inner: &S) -> Result<(), StorageError>;
}

/// `inner`, with `hook` run before every call.
#[derive(Debug, Default)]
pub struct Intercepted<S, H> {
    inner: S,
    hook: H,
}

impl<S, H> Intercepted<S, H> {
    /// Wraps `inner`.
    pub fn with(inner: S, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }
}

#[async_trait]
impl<S: BlobStore, H: BeforeCall<S>> BlobStore for Intercepted<S, H> {
    fn account(&self) -> &str {
        self.inner.account()
    }
    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, StorageError> {
        self.hook
            .before(Call::Properties(blob), &self.inner)
            .await?;
        self.inner.properties(blob).await
    }
    async fn read_range(
        &self,
        blob: &BlobRef,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, StorageError> {
        self.hook.before(Call::ReadRange(blob), &self.inner).await?;
        self.inner.read_range(blob, offset, len).await
    }
    async fn list(
        &self,
        container: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, StorageError> {
        self.hook.before(Call::List(container), &self.inner).await?;
        self.inner.list(container, prefix, marker).await
    }
    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, StorageError> {
        self.hook.before(Call::GetTags(blob), &self.inner).await?;
        self.inner.get_tags(blob).await
    }
    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        self.hook.before(Call::SetTags(blob), &self.inner).await?;
        self.inner.set_tags(blob, tags, if_tags).await
    }
    async fn find_by_tags(
        &self,
        container: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, StorageError> {
        self.hook
            .before(Call::FindByTags(container), &self.inner)
            .await?;
        self.inner.find_by_tags(container, expr, marker).await
    }
    async fn delete_if_match(&self, blob: &BlobRef, etag: &str) -> Result<(), StorageError> {
        self.hook
            .before(Call::DeleteIfMatch(blob), &self.inner)
            .await?;
        self.inner.delete_if_match(blob, etag).await
    }
    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        self.hook
            .before(Call::DeleteGuarded(blob), &self.inner)
            .await?;
        self.inner.delete_guarded(blob, etag, if_tags).await
    }
    async fn put(
        &self,
        blob: &BlobRef,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<String, StorageError> {
        self.hook.before(Call::Put(blob), &self.inner).await?;
        self.inner.put(blob, body, content_type, metadata).await
    }
    async fn put_new(
        &self,
        blob: &BlobRef,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<String, StorageError> {
        self.hook.before(Call::Put(blob), &self.inner).await?;
        self.inner.put_new(blob, body, content_type, metadata).await
    }
    async fn create_append(&self, blob: &BlobRef, content_type: &str) -> Result<(), StorageError> {
        self.hook
            .before(Call::CreateAppend(blob), &self.inner)
            .await?;
        self.inner.create_append(blob, content_type).await
    }
    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), StorageError> {
        self.hook.before(Call::Append(blob), &self.inner).await?;
        self.inner.append(blob, body).await
    }
}
