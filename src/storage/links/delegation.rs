//! The production [`LinkIssuer`]: a user delegation key for the app's identity, cached while it
//! outlives the links it signs (a link never grants more than the identity has).

use async_trait::async_trait;
use azure_storage_blob::BlobServiceClient;
use azure_storage_blob::models::KeyInfo;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

use super::link::{Link, LinkIssuer};
use super::sas::{BlobGrant, DelegationKey, token, url};
use crate::azure::connection::StorageConnection;
use crate::azure::{AzureError, Guard, Policy};
use crate::dates::format_utc;
use crate::permissions::Operation;
use crate::storage::azure::service_client;
use crate::storage::port::BlobRef;
use crate::telemetry::redact;

/// How long a requested delegation key lives (the service allows up to 7 days).
const KEY_LIFETIME: Duration = Duration::hours(2);
/// Clock-skew allowance for `st` and the key start.
const SKEW: Duration = Duration::minutes(5);

/// Signs links with a cached user delegation key.
pub struct DelegationIssuer {
    service: BlobServiceClient,
    account: String,
    endpoint: String,
    cached: Mutex<Option<(OffsetDateTime, DelegationKey)>>,
    guard: Guard,
}

crate::telemetry::debug_fields!(DelegationIssuer { account });

impl DelegationIssuer {
    /// An issuer for `conn` (identity-based). No request is made here.
    ///
    /// # Errors
    /// `Permanent` when the client cannot be built.
    pub fn new(conn: &StorageConnection) -> Result<Self, AzureError> {
        let (options, credential) = crate::azure::sdk::options(conn, "b")?;
        let service = service_client(&conn.blob, credential, options)?;
        let guard = conn.guard(&conn.blob);
        Ok(Self::from_client(service, &conn.account, &conn.blob, guard))
    }

    /// An issuer asking for keys with `credential` over `transport` (SDK default when `None`): the
    /// end-to-end tests' seam.
    ///
    /// # Errors
    /// `Permanent` when the client cannot be built.
    pub fn with_credential(
        account: &str,
        endpoint: &url::Url,
        credential: std::sync::Arc<dyn azure_core::credentials::TokenCredential>,
        transport: Option<azure_core::http::Transport>,
    ) -> Result<Self, AzureError> {
        let timeouts = crate::azure::Timeouts::default();
        let mut options = timeouts.sdk_options()?;
        if transport.is_some() {
            options.transport = transport;
        }
        let service = service_client(endpoint, Some(credential), options)?;
        let guard = Guard::new(endpoint.as_str(), Some(endpoint), timeouts, Policy::STORAGE);
        Ok(Self::from_client(service, account, endpoint, guard))
    }

    fn from_client(
        service: BlobServiceClient,
        account: &str,
        endpoint: &url::Url,
        guard: Guard,
    ) -> Self {
        Self {
            service,
            account: account.to_owned(),
            endpoint: endpoint.as_str().to_owned(),
            cached: Mutex::new(None),
            guard,
        }
    }

    async fn key(
        &self,
        now: OffsetDateTime,
        needed_until: OffsetDateTime,
    ) -> Result<DelegationKey, String> {
        let mut cached = self.cached.lock().await;
        if let Some((expiry, key)) = cached.as_ref()
            && *expiry > needed_until
        {
            return Ok(key.clone());
        }
        let info = KeyInfo {
            start: Some(now - SKEW),
            expiry: Some(now + KEY_LIFETIME),
            ..KeyInfo::default()
        };
        let request = || async {
            let body = info.clone().try_into()?;
            let key = self.service.get_user_delegation_key(body, None).await;
            Ok(key.and_then(azure_core::http::Response::into_model)?)
        };
        let op = Operation::GetUserDelegationKey;
        let role = || op.missing(&format!("account {}", self.account));
        let key = self.guard.run(op.name(), None, role, request).await;
        let key = key.map_err(|e| e.to_string())?;
        let (Some(start), Some(expiry), Some(value)) =
            (key.signed_start, key.signed_expiry, key.value)
        else {
            return Err("incomplete user delegation key".into());
        };
        let k = DelegationKey {
            oid: key.signed_oid.unwrap_or_default(),
            tid: key.signed_tid.unwrap_or_default(),
            start: format_utc(start),
            expiry: format_utc(expiry),
            service: key.signed_service.unwrap_or_else(|| "b".into()),
            version: key.signed_version.unwrap_or_default(),
            value,
        };
        *cached = Some((expiry, k.clone()));
        Ok(k)
    }
}

#[async_trait]
impl LinkIssuer for DelegationIssuer {
    async fn issue(&self, blob: &BlobRef, now: OffsetDateTime, lifetime: Duration) -> Link {
        let expires = now + lifetime;
        let key = match self.key(now, expires).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %redact(&e), "user delegation key unavailable");
                return Link::Unavailable(
                    "the storage service did not issue a delegation key".into(),
                );
            }
        };
        let (start, end) = (format_utc(now - SKEW), format_utc(expires));
        let protocol = if self.endpoint.starts_with("https:") {
            "https"
        } else {
            "https,http"
        };
        let grant = BlobGrant {
            account: &self.account,
            container: &blob.container,
            blob: &blob.name,
            start: &start,
            expiry: &end,
            protocol,
        };
        Link::Issued {
            url: url(
                &self.endpoint,
                &blob.container,
                &blob.name,
                &token(&key, &grant),
            ),
            expires,
        }
    }
}
