//! Managed identity: one SDK credential (and token cache) per identity for the whole process; each
//! connection's view bounds a token request by the per-try timeout and names the setting and the
//! endpoint when it fails. Such a failure is retryable, never poison: the endpoint may come back.
//!
//! [`AppIdentity`]: the app's own identity for the services it calls with tokens (Logs Ingestion,
//! Log Analytics, Resource Manager), whatever its storage connection is: an identity-based
//! `AzureWebJobsStorage`'s, else the one the platform gives the app (`IDENTITY_ENDPOINT` and
//! `IDENTITY_HEADER`, set by App Service and Functions when the app has a managed identity;
//! `AZURE_CLIENT_ID` names a user-assigned one).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};

use super::connection::{StorageAuth, StorageConnection};
use super::error::AzureError;
use super::identity_error::{IdentityError, chain, identity_failure};
use super::timeouts::Timeouts;
use crate::telemetry::redact;

/// Longest failure detail kept in the one-line message.
const MAX_DETAIL: usize = 200;

/// (client id, per-try timeout): one shared credential per identity and bound.
type Key = (Option<String>, Duration);

/// The process-wide credentials, one per identity, shared by clients built from a connection alone.
static SHARED: LazyLock<Mutex<HashMap<Key, Arc<dyn TokenCredential>>>> =
    LazyLock::new(Mutex::default);

/// The app's managed identity: which one, and the setting that names it (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIdentity {
    /// Where it was found: `AzureWebJobsStorage` or `IDENTITY_ENDPOINT`.
    pub setting: String,
    /// Client id of a user-assigned identity (`None`: system-assigned).
    pub client_id: Option<String>,
    /// The identity endpoint tokens come from (without its query).
    pub token_endpoint: String,
}

/// The platform's identity endpoint setting.
pub const PLATFORM_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// The platform's identity secret setting.
pub const PLATFORM_HEADER: &str = "IDENTITY_HEADER";
/// The client id of a user-assigned identity, when the storage connection does not name one.
pub const CLIENT_ID: &str = "AZURE_CLIENT_ID";

impl AppIdentity {
    /// The identity of `app` when it is identity-based; else the platform's, when
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set (with `AZURE_CLIENT_ID`, a user-assigned
    /// one); else none.
    pub fn resolve(
        app: Option<&StorageConnection>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Self> {
        if let Some(StorageConnection {
            setting,
            auth:
                StorageAuth::ManagedIdentity {
                    client_id,
                    token_endpoint,
                },
            ..
        }) = app
        {
            return Some(Self {
                setting: setting.clone(),
                client_id: client_id.clone(),
                token_endpoint: token_endpoint.clone(),
            });
        }
        let set = |k: &str| {
            env(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        set(PLATFORM_ENDPOINT)?;
        set(PLATFORM_HEADER)?;
        Some(Self {
            setting: PLATFORM_ENDPOINT.to_owned(),
            client_id: set(CLIENT_ID),
            token_endpoint: super::connection::token_endpoint(&|k| set(k)),
        })
    }

    /// Its credential, each token request bounded by `timeouts.per_try`.
    ///
    /// # Errors
    /// `Permanent` when the SDK credential cannot be built.
    pub fn credential(&self, timeouts: Timeouts) -> Result<Arc<dyn TokenCredential>, AzureError> {
        let inner = shared(self.client_id.clone(), timeouts)?;
        Ok(Arc::new(NamedCredential {
            setting: self.setting.clone(),
            endpoint: self.token_endpoint.clone(),
            inner,
            per_try: timeouts.per_try,
        }))
    }
}

/// The credential for an identity-based `conn`.
///
/// # Errors
/// `Permanent` when `conn` uses an account key, or the SDK credential cannot be built.
pub fn credential(conn: &StorageConnection) -> Result<Arc<dyn TokenCredential>, AzureError> {
    // With no environment, `resolve` gives exactly the identity of an identity-based `conn`.
    AppIdentity::resolve(Some(conn), &|_| None)
        .ok_or_else(|| {
            let setting = &conn.setting;
            AzureError::Permanent(format!("{setting}: not an identity-based connection"))
        })?
        .credential(conn.timeouts)
}

fn shared(
    client_id: Option<String>,
    timeouts: Timeouts,
) -> Result<Arc<dyn TokenCredential>, AzureError> {
    let mut map = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    let key = (client_id, timeouts.per_try);
    if let Some(c) = map.get(&key) {
        return Ok(c.clone());
    }
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: key.0.clone().map(UserAssignedId::ClientId),
        client_options: timeouts.sdk_options()?,
    };
    let credential: Arc<dyn TokenCredential> = ManagedIdentityCredential::new(Some(options))
        .map_err(|e| {
            AzureError::Permanent(format!("managed identity: {}", redact(&e.to_string())))
        })?;
    map.insert(key, credential.clone());
    Ok(credential)
}

/// A connection's view of a shared credential: bounded, and naming setting and endpoint on failure.
struct NamedCredential {
    setting: String,
    endpoint: String,
    inner: Arc<dyn TokenCredential>,
    per_try: Duration,
}

crate::telemetry::debug_fields!(NamedCredential { setting, endpoint });

#[async_trait]
impl TokenCredential for NamedCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let why =
            match tokio::time::timeout(self.per_try, self.inner.get_token(scopes, options)).await {
                Ok(Ok(token)) => return Ok(token),
                Ok(Err(e)) if !timed_out(&e) => describe(&e),
                _ => format!("no answer within {} ms", self.per_try.as_millis()),
            };
        let message = format!(
            "{}: managed identity token from {} failed: {why}",
            self.setting, self.endpoint
        );
        Err(azure_core::Error::with_error(
            ErrorKind::Credential,
            IdentityError(message.clone()),
            message,
        ))
    }
}

/// A bearer token for `scope` from `cred`, or why there is none in one redacted line (the caller
/// treats it as transient: the identity endpoint may come back).
pub async fn bearer(cred: &dyn TokenCredential, scope: &str) -> Result<String, String> {
    match cred.get_token(&[scope], None).await {
        Ok(token) => Ok(token.token.secret().to_owned()),
        Err(e) => Err(identity_failure(&e)
            .unwrap_or_else(|| format!("credential: {}", redact(&e.to_string())))),
    }
}

/// Why a token request failed, in one line: the endpoint's status, else the innermost cause.
fn describe(e: &azure_core::Error) -> String {
    let http = chain(e).find_map(|err| {
        let az = err.downcast_ref::<azure_core::Error>()?;
        let ErrorKind::HttpResponse { status, .. } = az.kind() else {
            return None;
        };
        let text = one_line(&az.to_string());
        Some(format!("HTTP {}: {text}", u16::from(*status)))
    });
    http.unwrap_or_else(|| {
        let innermost = chain(e).last().map(ToString::to_string);
        one_line(&innermost.unwrap_or_default())
    })
}

/// The HTTP client's own per-try timeout ended the request (it races the credential's bound).
fn timed_out(e: &azure_core::Error) -> bool {
    chain(e).any(|err| {
        err.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
    })
}

/// The first line of `text`, redacted and shortened.
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim();
    crate::telemetry::truncate(&redact(first), MAX_DETAIL, "…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_one_line_and_found_under_sdk_context() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = azure_core::Error::with_error(ErrorKind::Io, inner, "failed to execute\nsecond");
        assert_eq!(describe(&e), "refused");
        let msg = "S: managed identity token from http://h/msi/token failed: refused".to_owned();
        let wrapped = azure_core::Error::with_error(
            ErrorKind::Credential,
            IdentityError(msg.clone()),
            msg.clone(),
        )
        .with_context("non-transport error occurred which will not be retried");
        assert_eq!(
            wrapped.to_string(),
            "non-transport error occurred which will not be retried"
        );
        assert_eq!(identity_failure(&wrapped), Some(msg));
        assert_eq!(identity_failure(&e), None);
        assert!(one_line(&"x".repeat(500)).chars().count() <= MAX_DETAIL + 1);
    }
}
