//! Short-lived read links for `GET /api/recordings/{id}`: a blob-scoped, read-only
//! user-delegation SAS ([`sas`], key from [`delegation`]); never an account-key SAS, so an
//! account-key connection gets no link and the reason.

pub mod delegation;
pub mod sas;

use async_trait::async_trait;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::dates::format_utc;
use crate::setting::Reader;
use crate::storage::BlobRef;

/// Default link lifetime.
pub const DEFAULT_MINUTES: u32 = 15;
/// Longest link lifetime accepted.
pub const MAX_MINUTES: u32 = 60;

/// `CATALOGUE_LINK_MINUTES` (default 15, at most 60).
pub fn lifetime(r: &mut Reader<'_>) -> Duration {
    Duration::minutes(i64::from(r.number(
        "CATALOGUE_LINK_MINUTES",
        DEFAULT_MINUTES,
        1..=MAX_MINUTES,
    )))
}

/// A link, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A read-only URL valid until `expires`.
    Issued {
        /// The SAS URL.
        url: String,
        /// Its expiry.
        expires: OffsetDateTime,
    },
    /// No link, for a reason safe to show.
    Unavailable(String),
}

impl Link {
    /// The `download` member of the detail document.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Issued { url, expires } => json!({"available": true, "url": url,
                "expiresOn": format_utc(*expires), "permissions": "r"}),
            Self::Unavailable(reason) => json!({"available": false, "reason": reason}),
        }
    }

    /// What the access-audit row records (never the signature).
    pub fn audit_text(&self) -> String {
        match self {
            Self::Issued { expires, .. } => format!("issued until {}", format_utc(*expires)),
            Self::Unavailable(reason) => format!("unavailable: {reason}"),
        }
    }
}

/// Issues read links for recordings.
#[async_trait]
pub trait LinkIssuer: Send + Sync + 'static {
    /// A link to `blob` valid for `lifetime` from `now`.
    async fn issue(&self, blob: &BlobRef, now: OffsetDateTime, lifetime: Duration) -> Link;
}

/// The issuer of each recordings account: a link is signed by the account that holds the blob.
#[derive(Clone)]
pub struct Links {
    by_account: Vec<(String, std::sync::Arc<dyn LinkIssuer>)>,
    other: std::sync::Arc<dyn LinkIssuer>,
}

impl Links {
    /// One issuer for every account.
    pub fn one(issuer: std::sync::Arc<dyn LinkIssuer>) -> Self {
        Self {
            by_account: Vec::new(),
            other: issuer,
        }
    }

    /// An issuer per account (names compared in any case); others get none, with the reason.
    pub fn per_account(by_account: Vec<(String, std::sync::Arc<dyn LinkIssuer>)>) -> Self {
        let other = std::sync::Arc::new(NoLinks(
            "the recording's account is not a configured source".into(),
        ));
        Self { by_account, other }
    }

    /// The issuer for `account`.
    pub fn issuer(&self, account: &str) -> &dyn LinkIssuer {
        self.by_account
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(account))
            .map_or(self.other.as_ref(), |(_, i)| i.as_ref())
    }
}

/// Never issues: the storage cannot sign user-delegation SAS (account key, in memory).
#[derive(Debug, Clone)]
pub struct NoLinks(pub String);

#[async_trait]
impl LinkIssuer for NoLinks {
    async fn issue(&self, _: &BlobRef, _: OffsetDateTime, _: Duration) -> Link {
        Link::Unavailable(self.0.clone())
    }
}

/// The reason given when the recordings connection uses an account key.
pub const KEY_REASON: &str = "download links need an Entra identity (user-delegation SAS); the recordings storage is connected with an account key";

/// The issuer for the recordings connection (`None`: storage is in memory).
pub fn for_connection(
    conn: Option<&crate::azure::connection::StorageConnection>,
) -> std::sync::Arc<dyn LinkIssuer> {
    use crate::azure::connection::StorageAuth;
    match conn {
        None => std::sync::Arc::new(NoLinks("storage is in memory".into())),
        Some(c) => match &c.auth {
            StorageAuth::Key(_) => std::sync::Arc::new(NoLinks(KEY_REASON.into())),
            StorageAuth::ManagedIdentity { .. } => match delegation::DelegationIssuer::new(c) {
                Ok(i) => std::sync::Arc::new(i),
                Err(e) => {
                    tracing::warn!(error = %crate::telemetry::redact(&e.to_string()), "download links disabled: no blob client");
                    std::sync::Arc::new(NoLinks("download links are not configured".into()))
                }
            },
        },
    }
}

#[cfg(test)]
pub(crate) mod tests;
