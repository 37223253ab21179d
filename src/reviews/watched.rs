//! The reviews watched for the join (table `reviewchecks`, PK `pending`, RK the review id;
//! `SubjectKind`, `SubjectId`, `At`): a review recorded while its session's user was unknown,
//! until [`super::recheck`] checks it again. The table's one writer.

use serde_json::json;

use super::model::Review;
use crate::azure::AzureError;
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Filter, Stored, TableStore, WriteMode};

/// The watched reviews.
pub const CHECKS_TABLE: &str = "reviewchecks";
/// Their partition.
const WATCHED: &str = "pending";
/// Most watched reviews read at once.
const MAX_WATCHED: usize = 1000;

/// Watches `review` until the join names its session (an upsert: a retry writes the same row).
///
/// # Errors
/// Storage failures.
pub async fn watch(tables: &dyn TableStore, review: &Review) -> Result<(), AzureError> {
    let row = json!({"PartitionKey": WATCHED, "RowKey": review.id,
        "SubjectKind": review.subject.kind.as_str(), "SubjectId": review.subject.id,
        "At": crate::dates::format_utc_millis(review.at)});
    let row = crate::tables::entity(row);
    write_creating_table(tables, CHECKS_TABLE, &row, WriteMode::Upsert)
        .await
        .map(drop)
}

/// The watched reviews (at most 1,000; an absent table: none).
///
/// # Errors
/// Storage failures.
pub async fn watched(tables: &dyn TableStore) -> Result<Vec<Stored>, AzureError> {
    query_all(
        tables,
        CHECKS_TABLE,
        &Filter::partition(WATCHED),
        MAX_WATCHED,
    )
    .await
}

/// Stops watching review `id` as read (`etag`): a row changed or gone since is left as it is.
///
/// # Errors
/// Storage failures.
pub async fn unwatch(tables: &dyn TableStore, id: &str, etag: &str) -> Result<(), AzureError> {
    crate::tables::ops::remove(tables, CHECKS_TABLE, WATCHED, id, Some(etag)).await
}
