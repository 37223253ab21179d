//! The one dependency value every domain takes: the app's tables, the watched sources, the
//! clock and the Sentinel outbox; and how a domain refuses a request of the API or CLI
//! ([`RequestError`]). Entry points hand it down from the state together with the plain settings
//! values a domain needs; nothing below the entry points sees the application state.

use std::sync::Arc;

use crate::azure::AzureError;
use crate::clock::Clock;
use crate::export::Outbox;
use crate::sources::Sources;
use crate::tables::TableStore;

/// The app's tables, the watched containers, the clock and the outbox, each shared.
#[derive(Clone)]
pub struct Ports {
    /// The app's tables.
    pub tables: Arc<dyn TableStore>,
    /// The watched containers: recordings and audit logs.
    pub sources: Arc<Sources>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Where rows for Microsoft Sentinel are recorded (off unless the Sentinel settings are set).
    pub outbox: Outbox,
}

crate::telemetry::debug_fields!(Ports { sources });

impl Ports {
    /// The catalogue's repository over these tables: every row it writes is recorded in the outbox
    /// when the Sentinel export is on.
    pub fn catalogue(&self) -> crate::catalogue::repo::CatalogueRepo {
        crate::catalogue::repo::CatalogueRepo::exporting(
            self.tables.clone(),
            &self.outbox,
            &self.clock,
        )
    }
}

/// Why a domain did not do what a request of the API or CLI asked (holds, reviews).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub enum RequestError {
    /// Bad input (missing who/why, a malformed id); the caller must fix it.
    Invalid(String),
    /// The subject (recording, hold, membership, session) does not exist.
    NotFound(String),
    /// Segregation of duties: this principal may not do this; the reason.
    Refused(String),
    /// The request conflicts with the state (a reused idempotency key, a stale release request).
    Conflict(String),
    /// Storage failed.
    Storage(#[from] AzureError),
}
