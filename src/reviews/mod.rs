//! Session review with sign-off: who reviewed which recording or session, when, with what verdict.
//! A review is never changed (a later one supersedes it in `reviewlatest`); the reviewer is the
//! authenticated principal, never a request field. Tables: docs/reviews.md.

pub mod annotate;
pub mod export;
pub mod hours;
pub mod model;
pub mod period;
pub mod queue;
pub mod recheck;
pub mod record;
pub mod refusal;
pub mod settings;
pub mod subject;
pub mod watched;

pub use model::{Kind, Review, Subject, Verdict};
pub use period::{Period, latest};
pub use record::{Recorded, ReviewRequest, record, record_by};
pub use refusal::Reviewer;
pub use settings::ReviewSettings;

/// The append-only log.
pub const REVIEWS_TABLE: &str = "reviews";
/// Reviews by id (idempotency).
pub const IDS_TABLE: &str = "reviewids";
/// The latest review per subject.
pub const LATEST_TABLE: &str = "reviewlatest";

/// Why a review could not be recorded or read.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The request is malformed (the caller must fix it).
    #[error("{0}")]
    Invalid(String),
    /// The subject is unknown (no catalogue row, tombstone or session).
    #[error("{0}")]
    NotFound(String),
    /// The reviewer is the session's user (segregation of duties); the reason.
    #[error("{0}")]
    Refused(String),
    /// The idempotency key was used before for a different review.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] crate::azure::AzureError),
}
