//! The pack's `reviews.csv`: the period's reviews, once the review store exists (until then the
//! file has its header and no rows, and the manifest's sources name the table).

use crate::api::query::Query;
use crate::evidence::source::Row;
use crate::ports::Ports;

/// The review table.
pub const TABLE: &str = "reviews";
/// The columns of `reviews.csv`.
pub const COLUMNS: &[&str] = &[
    "reviewId",
    "at",
    "reviewer",
    "subject",
    "subjectKind",
    "verdict",
    "comment",
    "ticket",
    "bastionHost",
];

/// The `chunk`-th chunk of the period's reviews.
///
/// # Errors
/// Storage failures.
pub async fn chunk(_ports: &Ports, _q: &Query, _chunk: usize) -> anyhow::Result<Option<Vec<Row>>> {
    Ok(None)
}
