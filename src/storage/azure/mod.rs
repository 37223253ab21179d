//! [`BlobStore`] over the official `azure_storage_blob` 1.x crate.
//!
//! Owns the mapping from the port's operations to SDK calls. Authorisation (account SAS per request,
//! or managed identity) and client options live in `client`; error and model translation in `map`;
//! listings in `listing`. Every call runs under the connection's total deadline and is logged once
//! when it fails ([`CallGuard`]). Every error text is redacted before it leaves this module.

pub(crate) mod client;
mod listing;
mod map;
mod read;

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use azure_storage_blob::models::{
    AppendBlobClientCreateOptions, BlobClientDeleteOptions, BlobClientSetTagsOptions,
    BlockBlobClientUploadOptions,
};
use azure_storage_blob::{BlobClient, BlobServiceClient};
use bytes::Bytes;

use super::connection::StorageConnection;
use super::deadline::CallGuard;

/// Classifies an error of an SDK blob call made outside this store (the delegation-key request):
/// by HTTP status, transport failures transient, a managed identity failure as its own message.
pub fn sdk_error(e: &azure_core::Error) -> StorageError {
    map::error(e)
}
use super::{
    BlobItem, BlobProps, BlobRef, BlobStore, Page, StorageError, TaggedBlob, Tags, Upload,
};

/// Blob access for one storage connection.
pub struct AzureBlobStore {
    account: String,
    service: BlobServiceClient,
    page_size: Option<u32>,
    guard: CallGuard,
    /// The service answered 400 to `startFrom` once: list without it from then on.
    start_from_refused: AtomicBool,
}

crate::telemetry::debug_fields!(AzureBlobStore { account });

impl AzureBlobStore {
    /// Builds a client for `conn` (SAS for key-based connections, managed identity otherwise).
    /// No request is made here.
    ///
    /// # Errors
    /// `Permanent` when the client cannot be built (e.g. managed identity over http).
    pub fn new(conn: &StorageConnection) -> Result<Self, StorageError> {
        Ok(Self {
            account: conn.account.clone(),
            service: client::service_client(conn)?,
            page_size: None,
            guard: CallGuard::new(&conn.setting, &conn.blob, conn.deadlines),
            start_from_refused: AtomicBool::new(false),
        })
    }

    /// Caps listing pages at `n` entries (service default 5000); tests use it to exercise paging.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n.max(1));
        self
    }

    fn blob(&self, blob: &BlobRef) -> BlobClient {
        self.service.blob_client(&blob.container, &blob.name)
    }

    /// Creates `container`; "already exists" (a concurrent writer won) is success.
    async fn create_container(&self, container: &str) -> Result<(), StorageError> {
        match self
            .service
            .blob_container_client(container)
            .create(None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match map::error(&e) {
                StorageError::AlreadyExists => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn read_properties(&self, blob: &BlobRef) -> Result<BlobProps, StorageError> {
        let r = self
            .blob(blob)
            .get_properties(None)
            .await
            .map_err(|e| map::error(&e))?;
        map::props(&r).map_err(|e| map::error(&e))
    }

    /// True when `e` says the container is missing (then writes create it and retry once).
    fn container_missing(e: &azure_core::Error) -> bool {
        map::error_code(e) == Some("ContainerNotFound")
    }
}

#[async_trait]
impl BlobStore for AzureBlobStore {
    fn account(&self) -> &str {
        &self.account
    }

    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, StorageError> {
        self.guard
            .run("blob.properties", self.read_properties(blob))
            .await
    }

    async fn read_range(
        &self,
        blob: &BlobRef,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, StorageError> {
        let client = self.blob(blob);
        let read = read::read_range(&client, offset, len);
        self.guard.run("blob.read_range", read).await
    }

    async fn list(
        &self,
        container: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, StorageError> {
        let client = self.service.blob_container_client(container);
        let range = listing::Range {
            prefix,
            from: None,
            page_size: self.page_size,
        };
        self.guard
            .run("blob.list", listing::list(&client, range, marker))
            .await
    }

    /// `startFrom` is asked for until the service refuses it (400: a service version or account
    /// kind without it), then this client lists the prefix instead. The names before `from` are
    /// dropped either way, so the answer is the same (an emulator that ignores the parameter
    /// included).
    async fn list_from(
        &self,
        container: &str,
        prefix: &str,
        from: &str,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, StorageError> {
        let client = self.service.blob_container_client(container);
        let refused = || self.start_from_refused.load(Ordering::Relaxed);
        let range = |from| listing::Range {
            prefix: Some(prefix),
            from,
            page_size: self.page_size,
        };
        let ask = if refused() { None } else { Some(from) };
        let first = listing::list(&client, range(ask), marker.clone());
        let mut page = match self.guard.run("blob.list", first).await {
            Err(StorageError::Rejected(_)) if ask.is_some() => {
                self.start_from_refused.store(true, Ordering::Relaxed);
                let again = listing::list(&client, range(None), marker);
                self.guard.run("blob.list", again).await?
            }
            other => other?,
        };
        page.items.retain(|i| i.name.as_str() >= from);
        Ok(page)
    }

    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, StorageError> {
        self.guard
            .run("blob.get_tags", async {
                let r = self.blob(blob).get_tags(None).await;
                let r = r.map_err(|e| map::error(&e))?;
                Ok(map::tags(r.into_model().map_err(|e| map::error(&e))?))
            })
            .await
    }

    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        let body = map::sdk_tags(tags).try_into().map_err(|e| map::error(&e))?;
        let options = BlobClientSetTagsOptions {
            if_tags: if_tags.map(str::to_owned),
            ..Default::default()
        };
        let client = self.blob(blob);
        let set = client.set_tags(body, Some(options));
        self.guard
            .run("blob.set_tags", async {
                set.await.map(drop).map_err(|e| map::error(&e))
            })
            .await
    }

    async fn find_by_tags(
        &self,
        container: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, StorageError> {
        let client = self.service.blob_container_client(container);
        let find = listing::find_by_tags(&client, expr, marker, self.page_size);
        self.guard.run("blob.find_by_tags", find).await
    }

    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), StorageError> {
        let options = BlobClientDeleteOptions {
            if_match: etag.map(map::if_match),
            if_tags: if_tags.map(str::to_owned),
            ..Default::default()
        };
        let client = self.blob(blob);
        let delete = async {
            match client
                .delete(Some(options))
                .await
                .map_err(|e| map::error(&e))
            {
                // Azurite answers 412 (not 404) for a missing blob; one probe tells "gone" from
                // "changed" so callers can treat an already-deleted blob as done.
                Err(StorageError::PreconditionFailed) => match self.read_properties(blob).await {
                    Err(StorageError::NotFound) => Err(StorageError::NotFound),
                    _ => Err(StorageError::PreconditionFailed),
                },
                other => other.map(drop),
            }
        };
        self.guard.run("blob.delete", delete).await
    }

    /// One-request block blob upload; `only_new` adds `If-None-Match: *`.
    async fn upload(&self, blob: &BlobRef, up: Upload<'_>) -> Result<String, StorageError> {
        let client = self.blob(blob);
        let upload = || {
            let options = BlockBlobClientUploadOptions {
                if_none_match: up.only_new.then(|| azure_core::http::Etag::from("*")),
                blob_content_type: Some(up.content_type.to_owned()),
                metadata: Some(
                    up.metadata
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                ..Default::default()
            };
            client.upload(up.body.clone().into(), Some(options))
        };
        let put = async {
            let result = match upload().await {
                Err(e) if Self::container_missing(&e) => {
                    self.create_container(&blob.container).await?;
                    upload().await
                }
                other => other,
            };
            let result = result.map_err(|e| map::error(&e))?;
            Ok(map::etag(result.etag.as_ref()))
        };
        match self.guard.run("blob.put", put).await {
            // The service answers 409 BlobAlreadyExists; some versions (and Azurite) 412.
            Err(StorageError::PreconditionFailed) if up.only_new => {
                Err(StorageError::AlreadyExists)
            }
            other => other,
        }
    }

    async fn create_append(&self, blob: &BlobRef, content_type: &str) -> Result<(), StorageError> {
        let client = self.blob(blob).append_blob_client();
        let create = || {
            let options = AppendBlobClientCreateOptions {
                blob_content_type: Some(content_type.to_owned()),
                ..Default::default()
            };
            client.create(Some(options))
        };
        let run = async {
            match create().await {
                Err(e) if Self::container_missing(&e) => {
                    self.create_container(&blob.container).await?;
                    create().await.map(drop).map_err(|e| map::error(&e))
                }
                other => other.map(drop).map_err(|e| map::error(&e)),
            }
        };
        self.guard.run("blob.create_append", run).await
    }

    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), StorageError> {
        let len = body.len() as u64;
        let client = self.blob(blob).append_blob_client();
        let append = client.append_block(body.into(), len, None);
        self.guard
            .run("blob.append", async {
                append.await.map(drop).map_err(|e| map::error(&e))
            })
            .await
    }
}

#[cfg(test)]
mod tests;
