//! The blob port itself: [`BlobStore`], the values it reads and writes (a blob's address,
//! kind, properties, tags and metadata, a listing's page, an upload), and what its callers share
//! over it (ETags compared without quotes, the one read-change-write of a blob's tags).

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::azure::{AzureError, found};
use crate::names::named;

/// Blob index tags: at most 10 per blob, case-sensitive keys, string values.
pub type Tags = BTreeMap<String, String>;

/// User-defined blob metadata (`x-ms-meta-*`), keys lower-cased by the service.
pub type Metadata = BTreeMap<String, String>;

/// A blob address inside one storage account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobRef {
    /// Container name.
    pub container: String,
    /// Blob name (may contain `/`).
    pub name: String,
}

impl BlobRef {
    /// Builds a reference from a container and a blob name.
    pub fn new(container: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            container: container.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for BlobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.container, self.name)
    }
}

named! {
    /// The kind of blob, as reported by `x-ms-blob-type`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum BlobKind {
        /// Block blob (`PutBlob` / `PutBlockList`).
        Block = "BlockBlob",
        /// Append blob (0-length `PutBlob`, then `AppendBlock`).
        Append = "AppendBlob",
        /// Page blob.
        Page = "PageBlob",
    }
}

/// Properties of one blob, read with a single `Get Blob Properties` call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlobProps {
    /// Size in bytes at read time.
    pub content_length: u64,
    /// `Content-Type`, if the writer set one.
    pub content_type: Option<String>,
    /// ETag without surrounding quotes.
    pub etag: String,
    /// `Last-Modified`.
    pub last_modified: Option<OffsetDateTime>,
    /// `x-ms-creation-time`: when the service created the blob, unlike event times; whether an
    /// overwrite keeps it is not documented (Azurite gives the overwrite's time).
    pub created: Option<OffsetDateTime>,
    /// Blob type, when reported.
    pub kind: Option<BlobKind>,
    /// User metadata.
    pub metadata: Metadata,
    /// `x-ms-tag-count`: lets callers skip a `Get Blob Tags` call when it is 0.
    pub tag_count: Option<u32>,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobItem {
    /// Blob name.
    pub name: String,
    /// Properties as returned by the listing (metadata included).
    pub props: BlobProps,
}

/// One page of results plus the marker for the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Opaque marker for the next page; `None` when this was the last page.
    pub next: Option<String>,
}

/// A blob returned by `Find Blobs by Tags`, with the tags named in the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedBlob {
    /// Container name.
    pub container: String,
    /// Blob name.
    pub name: String,
    /// Only the tags that appear in the filter expression (service behaviour).
    pub tags: Tags,
}

/// A block blob written in one `Put Blob` request.
#[derive(Debug, Clone)]
pub struct Upload<'a> {
    /// The content.
    pub body: Bytes,
    /// `Content-Type`.
    pub content_type: &'a str,
    /// User metadata.
    pub metadata: &'a Metadata,
    /// `If-None-Match: *`: only where no blob of that name exists (write-once evidence).
    pub only_new: bool,
}

/// The blob operations the product needs (held as `Arc<dyn BlobStore>`, one per connection).
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// The storage account name this store talks to (`devstoreaccount1` on Azurite).
    fn account(&self) -> &str;

    /// The URL of `blob` at this store's endpoint (`None` where the store has no endpoint, or the
    /// name no URL can carry).
    fn url(&self, _blob: &BlobRef) -> Option<String> {
        None
    }

    /// Reads properties and metadata.
    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, AzureError>;

    /// Reads `len` bytes from `offset`; fewer when the blob ends earlier.
    /// `RangeNotSatisfiable` when `offset` is at or past the end (no new bytes).
    async fn read_range(&self, blob: &BlobRef, offset: u64, len: u64) -> Result<Bytes, AzureError>;

    /// Lists blobs whose names start with `prefix`, one page at a time, in name order.
    /// A container that does not exist lists as empty.
    async fn list(
        &self,
        container: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError>;

    /// Lists blobs under `prefix` at or after `from` in name order, one page at a time (Azure:
    /// `startFrom`, so the newest names need not page through older ones; this default filters).
    async fn list_from(
        &self,
        container: &str,
        prefix: &str,
        from: &str,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        let mut page = self.list(container, Some(prefix), marker).await?;
        page.items.retain(|i| i.name.as_str() >= from);
        Ok(page)
    }

    /// Reads the whole tag set.
    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, AzureError>;

    /// Replaces the whole tag set (the service has no partial update: read, modify, write).
    /// `if_tags` is an `x-ms-if-tags` condition; `PreconditionFailed` when it does not hold.
    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError>;

    /// `Find Blobs by Tags` scoped to one container; `expr` must not mention `@container`.
    /// A container that does not exist yields an empty page. Azure's tag index is eventually
    /// consistent (a tag set a moment ago may not match yet); the fake and Azurite are immediate.
    async fn find_by_tags(
        &self,
        container: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, AzureError>;

    /// Deletes the blob only if its ETag is `etag` and its tags satisfy `if_tags` (checked by the
    /// service, so a hold set after the caller's read wins; tag writes keep the ETag).
    /// `PreconditionFailed` when a condition fails, `NotFound` when already gone. Azurite 3.35
    /// ignores `if_tags` next to `etag`.
    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError>;

    /// Uploads a block blob in one request (creating the container) and returns its ETag; with
    /// [`Upload::only_new`], `Conflict` when the name exists (left as it was).
    async fn upload(&self, blob: &BlobRef, upload: Upload<'_>) -> Result<String, AzureError>;

    /// [`upload`](Self::upload) that may replace a blob.
    async fn put(
        &self,
        blob: &BlobRef,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<String, AzureError> {
        let only_new = false;
        let upload = Upload {
            body,
            content_type,
            metadata,
            only_new,
        };
        self.upload(blob, upload).await
    }

    /// Creates an empty append blob (creating the container when missing).
    async fn create_append(&self, blob: &BlobRef, content_type: &str) -> Result<(), AzureError>;

    /// Appends one block to an append blob.
    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), AzureError>;
}

/// Strips the quotes some sources put around ETags, so values compare equal.
pub fn normalize_etag(etag: &str) -> &str {
    let t = etag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"')
}

/// Reads a blob's tags (none when `known_empty`), lets `change` derive the new set and a result,
/// and writes the set only when it differs (last writer wins: Set Blob Tags takes no ETag).
/// `Ok(None)` when the blob is gone.
///
/// # Errors
/// Any other storage failure.
pub async fn update_tags<T>(
    store: &dyn BlobStore,
    blob: &BlobRef,
    known_empty: bool,
    change: impl FnOnce(&Tags) -> (Tags, T),
) -> Result<Option<T>, AzureError> {
    let existing = if known_empty {
        Tags::new()
    } else {
        let Some(tags) = found(store.get_tags(blob).await)? else {
            return Ok(None);
        };
        tags
    };
    let (tags, out) = change(&existing);
    if tags != existing && found(store.set_tags(blob, &tags, None).await)?.is_none() {
        return Ok(None);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_without_quotes() {
        assert_eq!(normalize_etag("\"0x8D4BCC2E4835CD0\""), "0x8D4BCC2E4835CD0");
        assert_eq!(normalize_etag("0x8D4BCC2E4835CD0"), "0x8D4BCC2E4835CD0");
        assert_eq!(normalize_etag(" W/\"x\" "), "x");
    }

    #[tokio::test]
    async fn tags_are_written_only_when_they_change_and_a_gone_blob_is_none() {
        use crate::testkit::storage::counting::CountingBlobStore;
        use crate::testkit::storage::memory::InMemoryBlobStore;
        let store = CountingBlobStore::new(InMemoryBlobStore::new("a"));
        let blob = BlobRef::new("c", "b.mp4");
        let meta = Metadata::new();
        store
            .put(&blob, Bytes::from_static(b"x"), "video/mp4", &meta)
            .await
            .expect("put");
        let add = |t: &Tags| {
            let mut t = t.clone();
            t.insert("k".into(), "v".into());
            (t, 7)
        };
        assert_eq!(
            update_tags(&store, &blob, false, add).await.expect("ok"),
            Some(7)
        );
        assert_eq!(
            update_tags(&store, &blob, false, add).await.expect("ok"),
            Some(7)
        );
        assert_eq!(
            store.count(None, Some("set_tags")),
            1,
            "the second changed nothing"
        );
        assert_eq!(store.count(None, Some("get_tags")), 2);
        let none = |t: &Tags| (t.clone(), ());
        update_tags(&store, &blob, true, none).await.expect("ok");
        assert_eq!(
            store.count(None, Some("get_tags")),
            2,
            "known empty: not read"
        );
        let gone = BlobRef::new("c", "gone.mp4");
        assert_eq!(
            update_tags(&store, &gone, false, add).await.expect("ok"),
            None
        );
        assert_eq!(
            update_tags(&store, &gone, true, add).await.expect("ok"),
            None
        );
    }
}
