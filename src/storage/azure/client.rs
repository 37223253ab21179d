//! Building the SDK service client for one connection, and the per-request SAS policy.
//!
//! Client options come from the connection's deadlines (bounded retries, per-try timeouts);
//! identity-based connections share one credential per identity ([`identity`]).
//!
//! Key-based connections use an account SAS signed locally ([`SasSigner`]). The token is added to
//! every *attempt* by [`SasPolicy`] instead of being baked into the service URL: a client built with
//! a SAS URL would keep that token forever, and a long-running process would then fail with 403 once
//! it expired. The signer caches and re-signs well before expiry, so this costs nothing per request.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{ClientOptions, Context, Request};
use azure_storage_blob::{BlobServiceClient, BlobServiceClientOptions};

use crate::storage::StorageError;
use crate::storage::connection::{StorageAuth, StorageConnection};
use crate::storage::deadline::Deadlines;
use crate::storage::identity;
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

impl SasPolicy {
    /// A policy signing with `signer` (its services decide what the SAS reaches).
    pub(crate) fn new(signer: SasSigner) -> Self {
        Self { signer }
    }
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

/// The SDK client options of `conn` (bounded by its deadlines) and its credential: a key-based
/// connection adds an account SAS for `services` to every attempt ([`SasPolicy`]) and has no
/// credential; an identity-based one has the connection's shared managed identity.
pub(crate) fn authorised(
    conn: &StorageConnection,
    services: &'static str,
) -> Result<(ClientOptions, Option<Arc<dyn TokenCredential>>), StorageError> {
    let mut options = sdk_options(conn.deadlines)?;
    let credential = match &conn.auth {
        StorageAuth::Key(key) => {
            let signer = SasSigner::new(&conn.account, key.clone(), services);
            options
                .per_try_policies
                .push(Arc::new(SasPolicy::new(signer)));
            None
        }
        StorageAuth::ManagedIdentity { .. } => Some(identity::credential(conn)?),
    };
    Ok((options, credential))
}

/// Builds the service client for `conn` ([`authorised`] for the blob service).
pub(crate) fn service_client(conn: &StorageConnection) -> Result<BlobServiceClient, StorageError> {
    let (client_options, credential) = authorised(conn, "b")?;
    let options = BlobServiceClientOptions {
        version: API_VERSION.to_owned(),
        client_options,
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
    options.client_options = sdk_options(Deadlines::default())?;
    if transport.is_some() {
        options.client_options.transport = transport;
    }
    build(endpoint, Some(credential), options, endpoint.as_str())
}

/// SDK options for `deadlines` (the SAS policy is added per connection).
pub(crate) fn sdk_options(deadlines: Deadlines) -> Result<ClientOptions, StorageError> {
    deadlines
        .client_options()
        .map_err(|e| StorageError::Permanent(format!("http client: {e}")))
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
