//! The official SDK clients (blobs, queues) on one connection: their options and credential.
//!
//! Options come from the connection's [`Timeouts`](super::Timeouts) with the SDK's own retries
//! off (the [`Guard`](super::Guard) tries each call). Identity-based connections share one
//! credential per identity ([`identity`]). Key-based connections use an account SAS signed
//! locally ([`SasSigner`]), added to every request by a pipeline policy instead of being baked into
//! the service URL: a client built with a SAS URL would keep that token forever, and a
//! long-running process would then fail with 403 once it expired. The signer caches and re-signs
//! well before expiry, so this costs nothing per request.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{ClientOptions, Context, Request};

use super::connection::{StorageAuth, StorageConnection};
use super::error::AzureError;
use super::identity;
use super::sas::SasSigner;

/// Adds the current account SAS to each request.
#[derive(Debug)]
struct SasPolicy {
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
        // Each request is sent once, so it carries no SAS yet.
        super::sas::append(request.url_mut(), &self.signer.token());
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// The SDK client options of `conn` and its credential: a key-based connection adds an account
/// SAS for `services` (`b`, `q`) to every request and has no credential; an identity-based one
/// has the connection's shared managed identity.
///
/// # Errors
/// `Permanent` when the HTTP client or the credential cannot be built.
pub fn options(
    conn: &StorageConnection,
    services: &'static str,
) -> Result<(ClientOptions, Option<Arc<dyn TokenCredential>>), AzureError> {
    let mut options = conn.timeouts.sdk_options()?;
    let credential = match &conn.auth {
        StorageAuth::Key(key) => {
            let signer = SasSigner::new(&conn.account, key.clone(), services);
            options
                .per_try_policies
                .push(Arc::new(SasPolicy { signer }));
            None
        }
        StorageAuth::ManagedIdentity { .. } => Some(identity::credential(conn)?),
    };
    Ok((options, credential))
}
