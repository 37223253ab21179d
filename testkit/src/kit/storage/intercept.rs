//! The blob port's side of [`Intercepted`] (the one decorator of both ports, which runs a hook
//! before every call, then forwards it): the [`Call`]s a hook sees and the forwarding of every
//! [`BlobStore`] method (the table port's is in `tables::intercept`).
//!
//! Counting round trips ([`super::counting`]), recording the permissions a function needs, and
//! injecting faults or races in tests all need "do something, then call the wrapped store"; a hook
//! only says what happens before which [`Call`]. Each call names the REST operations it performs
//! in the permission table's vocabulary ([`Operation`]).

use async_trait::async_trait;
use bytes::Bytes;

pub use crate::testkit::intercept::Intercepted;
use bastion_recordings::azure::AzureError;
use bastion_recordings::permissions::Operation;
use bastion_recordings::storage::{
    BlobItem, BlobProps, BlobRef, BlobStore, Page, TaggedBlob, Tags, Upload,
};

/// The blob call about to be made, with the blob (or container) it addresses.
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
    /// `delete_guarded`
    Delete(&'a BlobRef),
    /// `upload` and `put` (one Put Blob, with or without `If-None-Match: *`)
    Put(&'a BlobRef),
    /// `create_append`
    CreateAppend(&'a BlobRef),
    /// `append`
    Append(&'a BlobRef),
}

impl<'a> Call<'a> {
    /// The port method's name (what counters report).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Properties(_) => "properties",
            Self::ReadRange(_) => "read_range",
            Self::List(_) => "list",
            Self::GetTags(_) => "get_tags",
            Self::SetTags(_) => "set_tags",
            Self::FindByTags(_) => "find_by_tags",
            Self::Delete(_) => "delete",
            Self::Put(_) => "put",
            Self::CreateAppend(_) => "create_append",
            Self::Append(_) => "append",
        }
    }

    /// The REST operations the call performs. A first write may create its container.
    pub fn operations(&self) -> &'static [Operation] {
        use Operation as O;
        match self {
            Self::Properties(_) => &[O::GetBlobProperties],
            Self::ReadRange(_) => &[O::GetBlob],
            Self::List(_) => &[O::ListBlobs],
            Self::GetTags(_) => &[O::GetBlobTags],
            Self::SetTags(_) => &[O::SetBlobTags],
            Self::FindByTags(_) => &[O::FindBlobsByTags],
            Self::Delete(_) => &[O::DeleteBlob],
            Self::Put(_) | Self::CreateAppend(_) => &[O::PutBlob, O::CreateContainer],
            Self::Append(_) => &[O::AppendBlock],
        }
    }

    /// The container the call addresses.
    pub fn container(&self) -> &'a str {
        match self {
            Self::List(c) | Self::FindByTags(c) => c,
            Self::Properties(b)
            | Self::ReadRange(b)
            | Self::GetTags(b)
            | Self::SetTags(b)
            | Self::Delete(b)
            | Self::Put(b)
            | Self::CreateAppend(b)
            | Self::Append(b) => &b.container,
        }
    }
}

/// What runs before each blob call. An error is returned in place of the call's own result (the
/// wrapped store is then not called).
#[async_trait]
pub trait BeforeCall<S>: Send + Sync + 'static {
    /// Runs before `call`; `inner` is the wrapped store (a hook may use it to stage a race).
    async fn before(&self, call: Call<'_>, inner: &S) -> Result<(), AzureError>;
}

impl<S: BlobStore, H: BeforeCall<S>> Intercepted<S, H> {
    /// Runs `run` (a call of the wrapped store) after the hook's `before` for `call`.
    async fn blob_call<R>(
        &self,
        call: Call<'_>,
        run: impl Future<Output = Result<R, AzureError>> + Send,
    ) -> Result<R, AzureError> {
        self.hook().before(call, self.inner()).await?;
        run.await
    }
}

#[async_trait]
impl<S: BlobStore, H: BeforeCall<S>> BlobStore for Intercepted<S, H> {
    fn account(&self) -> &str {
        self.inner().account()
    }
    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, AzureError> {
        let run = self.inner().properties(blob);
        self.blob_call(Call::Properties(blob), run).await
    }
    async fn read_range(&self, blob: &BlobRef, offset: u64, len: u64) -> Result<Bytes, AzureError> {
        let run = self.inner().read_range(blob, offset, len);
        self.blob_call(Call::ReadRange(blob), run).await
    }
    async fn list(
        &self,
        container: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        let run = self.inner().list(container, prefix, marker);
        self.blob_call(Call::List(container), run).await
    }
    async fn list_from(
        &self,
        container: &str,
        prefix: &str,
        from: &str,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        let run = self.inner().list_from(container, prefix, from, marker);
        self.blob_call(Call::List(container), run).await
    }
    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, AzureError> {
        let run = self.inner().get_tags(blob);
        self.blob_call(Call::GetTags(blob), run).await
    }
    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        let run = self.inner().set_tags(blob, tags, if_tags);
        self.blob_call(Call::SetTags(blob), run).await
    }
    async fn find_by_tags(
        &self,
        container: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, AzureError> {
        let run = self.inner().find_by_tags(container, expr, marker);
        self.blob_call(Call::FindByTags(container), run).await
    }
    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        let run = self.inner().delete_guarded(blob, etag, if_tags);
        self.blob_call(Call::Delete(blob), run).await
    }
    async fn upload(&self, blob: &BlobRef, upload: Upload<'_>) -> Result<String, AzureError> {
        let run = self.inner().upload(blob, upload);
        self.blob_call(Call::Put(blob), run).await
    }
    async fn create_append(&self, blob: &BlobRef, content_type: &str) -> Result<(), AzureError> {
        let run = self.inner().create_append(blob, content_type);
        self.blob_call(Call::CreateAppend(blob), run).await
    }
    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), AzureError> {
        let run = self.inner().append(blob, body);
        self.blob_call(Call::Append(blob), run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_calls_name_their_operations_and_container() {
        let b = BlobRef::new("c", "n");
        assert_eq!(
            Call::FindByTags("c").operations()[0].permissions(),
            ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action"]
        );
        let put = [Operation::PutBlob, Operation::CreateContainer];
        assert_eq!(Call::Put(&b).operations(), put);
        assert_eq!(Call::SetTags(&b).operations(), [Operation::SetBlobTags]);
        assert_eq!(
            (Call::List("c").container(), Call::Append(&b).container()),
            ("c", "c")
        );
        assert_eq!(
            (Call::Delete(&b).name(), Call::List("c").name()),
            ("delete", "list")
        );
    }
}
