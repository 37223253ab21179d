//! A read link, or why there is none ([`Link`]: what the detail document and the access audit
//! show of it), and the port that issues one for a blob ([`LinkIssuer`]).

use async_trait::async_trait;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::dates::format_utc;
use crate::storage::port::BlobRef;

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
