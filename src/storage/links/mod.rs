//! Short-lived read links for `GET /api/recordings/{id}`: a blob-scoped, read-only
//! user-delegation SAS ([`sas`], key from [`delegation`]); never an account-key SAS, so an
//! account-key connection gets no link and the reason.

pub mod delegation;
mod link;
pub mod sas;

pub use link::{Link, LinkIssuer};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use super::port::BlobRef;
use crate::setting::Reader;

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
