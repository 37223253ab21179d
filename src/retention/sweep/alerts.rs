//! `recording.retagged` alerts not yet in the outputs (table `deletions`, partition
//! [`RETAGGED_PK`], one row per notification id): a run failing after a restore would lose them.

use serde_json::json;

use crate::azure::AzureError;
use crate::retention::tombstone;
use crate::spine::{Finding, Notification};
use crate::tables::{TableStore, get_str};

/// Partition of the alerts waiting for the outputs (no creation day can be spelt like it).
pub const RETAGGED_PK: &str = "retagged";
/// Most alerts one run emits; the rest wait for the next.
pub const MAX_PER_RUN: usize = 1000;

/// Remembers the notification of `found` as the one pipeline makes it ([`crate::spine::messages`];
/// upsert: the same fact found again is the same row).
///
/// # Errors
/// Table errors.
pub async fn remember(tables: &dyn TableStore, found: &Finding) -> Result<(), AzureError> {
    let message = crate::spine::messages([found.clone()]).pop();
    let text = message.map(|m| m.to_string()).unwrap_or_default();
    let row = json!({"PartitionKey": RETAGGED_PK, "RowKey": found.id(), "Notification": text});
    let row = crate::tables::entity(row);
    tombstone::upsert(tables, &row).await
}

/// The remembered alerts, at most [`MAX_PER_RUN`], by id (a missing table has none).
///
/// # Errors
/// Table errors.
pub async fn unsent(tables: &dyn TableStore) -> Result<Vec<Notification>, AzureError> {
    let rows = tombstone::rows(tables, RETAGGED_PK, MAX_PER_RUN).await?;
    Ok(rows
        .iter()
        .filter_map(|s| serde_json::from_str(get_str(&s.entity, "Notification")?).ok())
        .collect())
}

/// Forgets alerts handed to the outputs; a failure is logged (emitted again, same id).
pub async fn forget(tables: &dyn TableStore, emitted: &[Notification]) {
    let ids = emitted
        .iter()
        .map(|n| n.notification_id.as_str())
        .collect::<Vec<_>>();
    let kept = "an emitted retag alert was not forgotten; the next run emits it again";
    tombstone::forget(tables, RETAGGED_PK, &ids, kept).await;
}
