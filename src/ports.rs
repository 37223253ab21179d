//! The one dependency value every domain takes: the app's tables, the watched sources, the
//! clock and the Sentinel outbox; and how a domain call fails ([`Failure`], [`RequestError`]). Entry points hand it down
//! from the state together with the plain settings values a domain needs; nothing below the entry points sees the application state.

use std::sync::Arc;

use crate::azure::AzureError;
use crate::clock::Clock;
use crate::export::Outbox;
use crate::invocation::DecodeError;
use crate::invocation::outcome::Stage;
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

/// How a domain call fails: worth a later try, or input that can never succeed. The domains speak
/// only this; the entry points map it to the host's ending (`Retryable`: 500, `Poison`: 200 after
/// quarantine), so a domain never names the host's type.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Transient fault: the trigger must redeliver.
    #[error("transient failure while {}: {source:#}", stage.as_str())]
    Retryable {
        /// Where it failed.
        stage: Stage,
        /// The cause chain.
        source: anyhow::Error,
    },
    /// Input that can never succeed.
    #[error("poison input: {reason}")]
    Poison {
        /// Short reason, stored with the quarantined payload.
        reason: String,
        /// Optional cause.
        source: Option<anyhow::Error>,
    },
}

impl Failure {
    /// A transient failure at `stage`.
    pub fn retryable(stage: Stage, source: impl Into<anyhow::Error>) -> Self {
        Self::Retryable {
            stage,
            source: source.into(),
        }
    }

    /// A transient failure while processing (storage, tables).
    pub fn storage(source: impl Into<anyhow::Error>) -> Self {
        Self::retryable(Stage::Processing, source)
    }

    /// Poison input.
    pub fn poison(reason: impl Into<String>) -> Self {
        Self::Poison {
            reason: reason.into(),
            source: None,
        }
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

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Self {
        Self::poison(e.to_string())
    }
}

impl From<AzureError> for Failure {
    fn from(e: AzureError) -> Self {
        match e {
            // The service refused the input itself: the same event fails every time.
            AzureError::Rejected { .. } => Self::poison(e.to_string()),
            e => Self::storage(e),
        }
    }
}
