//! Session review with sign-off: who reviewed which recording or session, when, with what verdict.
//! A review is never changed (a later one supersedes it in `reviewlatest`); the reviewer is the
//! authenticated principal, never a request field. Tables: docs/reviews.md.

pub mod annotate;
pub mod hours;
pub mod model;
pub mod people;
pub mod period;
pub mod queue;
pub mod recheck;
pub mod record;
pub mod refusal;
pub mod settings;
pub mod subject;
pub mod watched;

pub use model::{Kind, REVIEWS_TABLE, Review, Subject, Verdict};
pub use period::{Period, latest};
#[cfg(test)]
pub use record::record;
pub use record::{Recorded, ReviewRequest, record_by};
pub use refusal::Reviewer;
pub use settings::ReviewSettings;
