//! [`BlobStore`] over the official `azure_storage_blob` 1.x crate.
//!
//! PLACEHOLDER: filled in by the storage work package (see `tests/e2e/storage_contract.rs`).

use async_trait::async_trait;
use bytes::Bytes;

use super::connection::StorageConnection;
use super::{BlobItem, BlobProps, BlobRef, BlobStore, Metadata, Page, StorageError, TaggedBlob, Tags};

/// Blob access for one storage connection.
#[derive(Debug)]
pub struct AzureBlobStore {
    account: String,
}

impl AzureBlobStore {
    /// Builds a client for `conn` (SAS for key-based connections, managed identity otherwise).
    ///
    /// # Errors
    /// `Permanent` when the client cannot be built.
    pub fn new(conn: &StorageConnection) -> Result<Self, StorageError> {
        Ok(Self { account: conn.account.clone() })
    }
}

fn pending() -> StorageError {
    StorageError::Permanent("AzureBlobStore pending".into())
}

#[async_trait]
impl BlobStore for AzureBlobStore {
    fn account(&self) -> &str {
        &self.account
    }
    async fn properties(&self, _blob: &BlobRef) -> Result<BlobProps, StorageError> {
        Err(pending())
    }
    async fn read_range(&self, _blob: &BlobRef, _offset: u64, _len: u64) -> Result<Bytes, StorageError> {
        Err(pending())
    }
    async fn list(&self, _c: &str, _p: Option<&str>, _m: Option<String>) -> Result<Page<BlobItem>, StorageError> {
        Err(pending())
    }
    async fn get_tags(&self, _blob: &BlobRef) -> Result<Tags, StorageError> {
        Err(pending())
    }
    async fn set_tags(&self, _blob: &BlobRef, _tags: &Tags, _if_tags: Option<&str>) -> Result<(), StorageError> {
        Err(pending())
    }
    async fn find_by_tags(&self, _c: &str, _e: &str, _m: Option<String>) -> Result<Page<TaggedBlob>, StorageError> {
        Err(pending())
    }
    async fn delete_if_match(&self, _blob: &BlobRef, _etag: &str) -> Result<(), StorageError> {
        Err(pending())
    }
    async fn put(&self, _blob: &BlobRef, _body: Bytes, _ct: &str, _m: &Metadata) -> Result<String, StorageError> {
        Err(pending())
    }
    async fn create_append(&self, _blob: &BlobRef, _ct: &str) -> Result<(), StorageError> {
        Err(pending())
    }
    async fn append(&self, _blob: &BlobRef, _body: Bytes) -> Result<(), StorageError> {
        Err(pending())
    }
}
