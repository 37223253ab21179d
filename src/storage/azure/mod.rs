//! [`BlobStore`] over the official `azure_storage_blob` crate: every call runs under the
//! connection's [`Guard`] (retry, timeout, redacted log line, a 403 naming the permission).

mod listing;
mod map;
mod read;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_storage_blob::models::{
    BlobClientDeleteOptions, BlobClientSetTagsOptions, BlockBlobClientUploadOptions,
};
use azure_storage_blob::{
    BlobClient, BlobClientOptions, BlobServiceClient, BlobServiceClientOptions,
};
use bytes::Bytes;

use super::port::{BlobItem, BlobProps, BlobRef, BlobStore, Page, TaggedBlob, Tags, Upload};
use crate::azure::connection::StorageConnection;
use crate::azure::{AzureError, Guard};
use crate::permissions::Operation;
use crate::telemetry::redact;

/// REST API version: the SDK default is newer than Azurite 3.35 accepts.
pub const API_VERSION: &str = "2025-11-05";

/// The blob service client of `endpoint` with `options` and `credential` (none: a SAS policy in
/// the options authorises).
///
/// # Errors
/// `Permanent` when the client cannot be built (a token credential over http).
pub fn service_client(
    endpoint: &url::Url,
    credential: Option<std::sync::Arc<dyn TokenCredential>>,
    client_options: azure_core::http::ClientOptions,
) -> Result<BlobServiceClient, AzureError> {
    let version = API_VERSION.to_owned();
    let options = BlobServiceClientOptions {
        version,
        client_options,
    };
    BlobServiceClient::new(endpoint.clone(), credential, Some(options)).map_err(|e| {
        let e = redact(&e.to_string());
        AzureError::Permanent(format!("blob client for {endpoint}: {e}"))
    })
}

/// Blob access for one storage connection.
pub struct AzureBlobStore {
    account: String,
    service: BlobServiceClient,
    /// The options and credential each blob's client is built with ([`Self::blob`]).
    blob_options: BlobClientOptions,
    credential: Option<std::sync::Arc<dyn TokenCredential>>,
    page_size: Option<u32>,
    guard: Guard,
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
    pub fn new(conn: &StorageConnection) -> Result<Self, AzureError> {
        let (options, credential) = crate::azure::sdk::options(conn, "b")?;
        let blob_options = BlobClientOptions {
            version: API_VERSION.to_owned(),
            client_options: options.clone(),
        };
        Ok(Self {
            account: conn.account.clone(),
            service: service_client(&conn.blob, credential.clone(), options)?,
            blob_options,
            credential,
            page_size: None,
            guard: conn.guard(&conn.blob),
            start_from_refused: AtomicBool::new(false),
        })
    }

    /// Caps listing pages at `n` entries (service default 5000); tests use it to exercise paging.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n.max(1));
        self
    }

    /// The client of one blob, its URL built by [`request_url`](crate::storage::url::request_url)
    /// (the SDK's own builder drops TAB, CR and LF from a name, so such a blob would be another's).
    ///
    /// # Errors
    /// `Rejected` (400) for a name no URL can carry; `Permanent` when the client cannot be built.
    fn blob(&self, blob: &BlobRef) -> Result<BlobClient, AzureError> {
        let url = crate::storage::url::request_url(self.service.url(), &blob.container, &blob.name)
            .ok_or_else(|| {
                AzureError::refused(
                    400,
                    "InvalidUri",
                    "the blob name cannot be carried by a request URL (empty, `.` or `..`)",
                )
            })?;
        let options = Some(self.blob_options.clone());
        BlobClient::new(url, self.credential.clone(), options).map_err(|e| {
            let e = redact(&e.to_string());
            AzureError::Permanent(format!("blob client in {}: {e}", blob.container))
        })
    }

    /// Runs blob call `op` on `container`.
    async fn call<T, F, Fut>(
        &self,
        op: Operation,
        container: &str,
        attempt: F,
    ) -> Result<T, AzureError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AzureError>>,
    {
        let role = || op.missing(&format!("container {}/{container}", self.account));
        self.guard.run(op.name(), None, role, attempt).await
    }

    /// Creates `container`; "already exists" (a concurrent writer won) is success.
    async fn create_container(&self, container: &str) -> Result<(), AzureError> {
        let client = self.service.blob_container_client(container);
        match client.create(None).await.map_err(AzureError::from) {
            Ok(_) | Err(AzureError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn read_properties(&self, blob: &BlobRef) -> Result<BlobProps, AzureError> {
        let r = self.blob(blob)?.get_properties(None).await?;
        Ok(map::props(&r)?)
    }

    /// Runs `write`; when the container is missing, creates it and runs `write` once more.
    async fn creating<T, Fut>(
        &self,
        container: &str,
        write: impl Fn() -> Fut,
    ) -> Result<T, AzureError>
    where
        Fut: Future<Output = azure_core::Result<T>>,
    {
        let result = match write().await {
            Err(e) if map::error_code(&e) == Some("ContainerNotFound") => {
                self.create_container(container).await?;
                write().await
            }
            other => other,
        };
        Ok(result?)
    }
}

#[async_trait]
impl BlobStore for AzureBlobStore {
    fn account(&self) -> &str {
        &self.account
    }

    fn url(&self, blob: &BlobRef) -> Option<String> {
        crate::storage::url::request_url(self.service.url(), &blob.container, &blob.name)
            .map(String::from)
    }

    async fn properties(&self, blob: &BlobRef) -> Result<BlobProps, AzureError> {
        let op = Operation::GetBlobProperties;
        self.call(op, &blob.container, || self.read_properties(blob))
            .await
    }

    async fn read_range(&self, blob: &BlobRef, offset: u64, len: u64) -> Result<Bytes, AzureError> {
        let client = self.blob(blob)?;
        let read = || read::read_range(&client, offset, len);
        self.call(Operation::GetBlob, &blob.container, read).await
    }

    async fn list(
        &self,
        container: &str,
        prefix: Option<&str>,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        let client = self.service.blob_container_client(container);
        let list = || listing::list(&client, (prefix, None), self.page_size, marker.clone());
        self.call(Operation::ListBlobs, container, list).await
    }

    /// `startFrom` until the service refuses it (400), then the prefix; earlier names are dropped
    /// either way.
    async fn list_from(
        &self,
        container: &str,
        prefix: &str,
        from: &str,
        marker: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        let client = self.service.blob_container_client(container);
        let refused = self.start_from_refused.load(Ordering::Relaxed);
        let ask = if refused { None } else { Some(from) };
        let range = |from| (Some(prefix), from);
        let first = || listing::list(&client, range(ask), self.page_size, marker.clone());
        let mut page = match self.call(Operation::ListBlobs, container, first).await {
            Err(AzureError::Rejected { .. }) if ask.is_some() => {
                self.start_from_refused.store(true, Ordering::Relaxed);
                let again = || listing::list(&client, range(None), self.page_size, marker.clone());
                self.call(Operation::ListBlobs, container, again).await?
            }
            other => other?,
        };
        page.items.retain(|i| i.name.as_str() >= from);
        Ok(page)
    }

    async fn get_tags(&self, blob: &BlobRef) -> Result<Tags, AzureError> {
        let client = self.blob(blob)?;
        let get = || async { Ok(map::tags(client.get_tags(None).await?.into_model()?)) };
        self.call(Operation::GetBlobTags, &blob.container, get)
            .await
    }

    async fn set_tags(
        &self,
        blob: &BlobRef,
        tags: &Tags,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        let client = self.blob(blob)?;
        let set = || async {
            let body = map::sdk_tags(tags).try_into()?;
            let options = BlobClientSetTagsOptions {
                if_tags: if_tags.map(str::to_owned),
                ..Default::default()
            };
            Ok(client.set_tags(body, Some(options)).await.map(drop)?)
        };
        self.call(Operation::SetBlobTags, &blob.container, set)
            .await
    }

    async fn find_by_tags(
        &self,
        container: &str,
        expr: &str,
        marker: Option<String>,
    ) -> Result<Page<TaggedBlob>, AzureError> {
        let client = self.service.blob_container_client(container);
        let find = || listing::find_by_tags(&client, expr, marker.clone(), self.page_size);
        self.call(Operation::FindBlobsByTags, container, find).await
    }

    async fn delete_guarded(
        &self,
        blob: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        let client = self.blob(blob)?;
        let delete = || async {
            let options = BlobClientDeleteOptions {
                if_match: etag.map(map::if_match),
                if_tags: if_tags.map(str::to_owned),
                ..Default::default()
            };
            match client.delete(Some(options)).await {
                Ok(_) => Ok(()),
                Err(e) => match AzureError::of_sdk(&e) {
                    // Azurite answers 412 (not 404) for a missing blob; one probe tells "gone"
                    // from "changed" so callers can treat an already-deleted blob as done.
                    AzureError::PreconditionFailed => match self.read_properties(blob).await {
                        Err(AzureError::NotFound) => Err(AzureError::NotFound),
                        _ => Err(AzureError::PreconditionFailed),
                    },
                    other => Err(other),
                },
            }
        };
        self.call(Operation::DeleteBlob, &blob.container, delete)
            .await
    }

    /// One-request block blob upload; `only_new` adds `If-None-Match: *`.
    async fn upload(&self, blob: &BlobRef, up: Upload<'_>) -> Result<String, AzureError> {
        let client = self.blob(blob)?;
        let upload = || {
            let options = BlockBlobClientUploadOptions {
                if_none_match: up.only_new.then(|| azure_core::http::Etag::from("*")),
                blob_content_type: Some(up.content_type.to_owned()),
                metadata: Some(up.metadata.clone().into_iter().collect()),
                ..Default::default()
            };
            client.upload(up.body.clone().into(), Some(options))
        };
        let put = || async {
            let result = self.creating(&blob.container, upload).await?;
            Ok(map::etag(result.etag.as_ref()))
        };
        match self.call(Operation::PutBlob, &blob.container, put).await {
            // The service answers 409 BlobAlreadyExists; some versions (and Azurite) 412.
            Err(AzureError::PreconditionFailed) if up.only_new => Err(AzureError::Conflict),
            other => other,
        }
    }

    async fn create_append(&self, blob: &BlobRef, content_type: &str) -> Result<(), AzureError> {
        let client = self.blob(blob)?.append_blob_client();
        let create = || {
            let options = azure_storage_blob::models::AppendBlobClientCreateOptions {
                blob_content_type: Some(content_type.to_owned()),
                ..Default::default()
            };
            client.create(Some(options))
        };
        let run = || async { self.creating(&blob.container, create).await.map(drop) };
        self.call(Operation::PutBlob, &blob.container, run).await
    }

    async fn append(&self, blob: &BlobRef, body: Bytes) -> Result<(), AzureError> {
        let len = body.len() as u64;
        let client = self.blob(blob)?.append_blob_client();
        let append = || async {
            Ok(client
                .append_block(body.clone().into(), len, None)
                .await
                .map(drop)?)
        };
        self.call(Operation::AppendBlock, &blob.container, append)
            .await
    }
}

#[cfg(test)]
mod tests;
