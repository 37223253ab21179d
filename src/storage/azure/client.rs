//! Building the SDK service client for one connection, and the per-request SAS policy.
//!
//! Key-based connections use an account SAS signed locally ([`SasSigner`]). The token is added to
//! every *attempt* by [`SasPolicy`] instead of being baked into the service URL: a client built with
//! a SAS URL would keep that token forever, and a long-running process would then fail with 403 once
//! it expired. The signer caches and re-signs well before expiry, so this costs nothing per request.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{ClientOptions, Context, ExponentialRetryOptions, Request, RetryOptions};
use azure_core::time::Duration;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use azure_storage_blob::{BlobServiceClient, BlobServiceClientOptions};

use crate::storage::StorageError;
use crate::storage::connection::{StorageAuth, StorageConnection};
use crate::storage::sas::SasSigner;
use crate::telemetry::redact;

/// REST API version sent with every request. The SDK default (2026-04-06) is newer than Azurite
/// 3.35 accepts; 2025-11-05 has every feature we use (tags, find-by-tags, creation time).
pub(crate) const API_VERSION: &str = "2025-11-05";

/// Query parameters that make up an account SAS; replaced (not duplicated) on every retry.
const SAS_PARAMS: [&str; 8] = ["sv", "ss", "srt", "sp", "st", "se", "spr", "sig"];

/// Adds the current account SAS to each request attempt.
#[derive(Debug)]
pub(crate) struct SasPolicy {
    signer: SasSigner,
}

// `async_trait` needs the trait's exact (elided) signature; `Context<'_>` would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait]
impl Policy for SasPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let url = request.url_mut();
        let query = with_sas(url.query().unwrap_or_default(), &self.signer.token());
        url.set_query(Some(&query));
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// `query` with any earlier SAS parameters replaced by `token`.
///
/// The same request object is reused across retries, so a SAS added by an earlier attempt must be
/// dropped, not duplicated. Other parameters are kept byte-for-byte (re-encoding them would change
/// `where=` tag expressions).
fn with_sas(query: &str, token: &str) -> String {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            !p.is_empty() && !SAS_PARAMS.contains(&p.split_once('=').map_or(*p, |(k, _)| k))
        })
        .collect();
    if kept.is_empty() {
        token.to_owned()
    } else {
        format!("{}&{token}", kept.join("&"))
    }
}

/// Builds the service client for `conn`.
pub(crate) fn service_client(conn: &StorageConnection) -> Result<BlobServiceClient, StorageError> {
    let mut options = BlobServiceClientOptions {
        version: API_VERSION.to_owned(),
        ..Default::default()
    };
    options.client_options = client_options();
    let credential: Option<Arc<dyn TokenCredential>> = match &conn.auth {
        StorageAuth::Key(key) => {
            let signer = SasSigner::new(&conn.account, key.clone(), "b");
            options
                .client_options
                .per_try_policies
                .push(Arc::new(SasPolicy { signer }));
            None
        }
        StorageAuth::ManagedIdentity { client_id } => Some(managed_identity(client_id.as_deref())?),
    };
    build(&conn.blob, credential, options, &conn.setting)
}

/// A token-authenticated client for `endpoint` with an explicit credential and, optionally, an
/// explicit HTTP transport (the seam that lets tests reach an emulator with a private CA).
pub(crate) fn credential_client(
    endpoint: &url::Url,
    credential: Arc<dyn TokenCredential>,
    transport: Option<azure_core::http::Transport>,
) -> Result<BlobServiceClient, StorageError> {
    let mut options = BlobServiceClientOptions {
        version: API_VERSION.to_owned(),
        ..Default::default()
    };
    options.client_options = client_options();
    options.client_options.transport = transport;
    build(endpoint, Some(credential), options, endpoint.as_str())
}

fn build(
    endpoint: &url::Url,
    credential: Option<Arc<dyn TokenCredential>>,
    options: BlobServiceClientOptions,
    what: &str,
) -> Result<BlobServiceClient, StorageError> {
    BlobServiceClient::new(endpoint.clone(), credential, Some(options)).map_err(|e| {
        StorageError::Permanent(format!(
            "blob client for {what}: {}",
            redact(&e.to_string())
        ))
    })
}

/// The managed identity credential (user-assigned when `client_id` is given).
///
/// # Errors
/// `Permanent` when the credential cannot be built (no identity endpoint configured).
pub fn managed_identity(client_id: Option<&str>) -> Result<Arc<dyn TokenCredential>, StorageError> {
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: client_id.map(|id| UserAssignedId::ClientId(id.to_owned())),
        ..Default::default()
    };
    let credential = ManagedIdentityCredential::new(Some(options)).map_err(|e| {
        StorageError::Permanent(format!("managed identity: {}", redact(&e.to_string())))
    })?;
    Ok(credential)
}

/// Bounded SDK retries: an invocation should fail over to the host's retry rather than sit in
/// back-off for a minute (the SDK default).
fn client_options() -> ClientOptions {
    let retry = ExponentialRetryOptions {
        initial_delay: Duration::milliseconds(200),
        max_retries: 3,
        max_total_elapsed: Duration::seconds(10),
        max_delay: Duration::seconds(4),
    };
    ClientOptions {
        retry: RetryOptions::exponential(retry),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_is_replaced_not_duplicated_and_other_params_kept() {
        let first = with_sas("comp=blobs&where=%22k%22%3D%27v%27", "sv=1&sig=a");
        assert_eq!(first, "comp=blobs&where=%22k%22%3D%27v%27&sv=1&sig=a");
        assert_eq!(
            with_sas(&first, "sv=1&sig=b"),
            "comp=blobs&where=%22k%22%3D%27v%27&sv=1&sig=b"
        );
        assert_eq!(with_sas("", "sv=1&sig=a"), "sv=1&sig=a");
    }
}
