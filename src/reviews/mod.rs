//! Session review with sign-off: who reviewed which recording or session, when, with what verdict.
//!
//! | table | PK | RK | purpose |
//! |---|---|---|---|
//! | `reviews` | day of the review `YYYY-MM-DD` (UTC) | `ReviewedAt` (RFC 3339, ms) `~` review id | the append-only log, streamed per period in time order ([`Period`]) |
//! | `reviewids` | review id | `review` | the review as first recorded: makes a retried `POST` a no-op |
//! | `reviewrefusals` | day of the attempt | the attempt's review id | a refused self-review ([`refusal`]) |
//! | `reviewlatest` | subject day (recording: creation day; session: start day) | `recording~<id>` / `session~<tunnelId>` | the latest review per subject, for views (superseded, never overwritten in the log) |
//!
//! A review is never changed once written: a later one supersedes it in `reviewlatest` only. The
//! reviewer is the authenticated principal, never a field of a request. A review of a deleted
//! recording is kept, with its tombstone's time and reason.
//!
//! # Layout
//! [`model`]: the review and its entity. [`subject`]: what was reviewed. [`mod@record`]: writing one
//! (and its Sentinel row, [`export`]). [`refusal`]: no one reviews their own session. [`period`]: reading the log and the latest rows.
//! [`annotate`]: the latest review in other lists. [`settings`] and [`hours`]: the queue's
//! settings. [`queue`]: what still needs a human, ranked by risk, and the overdue notifications.

pub mod annotate;
pub mod export;
pub mod hours;
pub mod model;
pub mod period;
pub mod queue;
pub mod record;
pub mod refusal;
pub mod settings;
pub mod subject;

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
