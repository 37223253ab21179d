//! Deletions no digest listed yet (table `deletions`, partition [`UNANNOUNCED_PK`]): remembered
//! before the tombstone, forgotten once a digest is in the outputs, so a failed run's deletions
//! reach the next digest.

use serde_json::json;

use super::report::Item;
use crate::azure::AzureError;
use crate::retention::tombstone::{self, Tombstone};
use crate::storage::BlobRef;
use crate::tables::{Entity, TableStore, get_str};

/// Partition of the deletions no digest has listed yet (no creation day can be spelt like it).
pub const UNANNOUNCED_PK: &str = "unannounced";
/// Most unannounced deletions one digest covers; the rest wait for the next run.
pub const MAX_PER_DIGEST: usize = 10_000;

/// A deletion waiting for its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unannounced {
    /// The tombstone id (its row key here).
    pub key: String,
    /// What the digest lists.
    pub item: Item,
}

/// Remembers the deletion `t` (upsert: a retry or a recovery writes the same row).
///
/// # Errors
/// Table errors.
pub async fn remember(tables: &dyn TableStore, t: &Tombstone) -> Result<(), AzureError> {
    let blob = t.key.blob().map_or_else(
        || t.blob_url.clone(),
        |p| BlobRef::new(p.container, p.name).to_string(),
    );
    let rk = t.key.id_key(crate::tables::keys::MAX_KEY_BYTES);
    let row = crate::tables::entity(json!({"PartitionKey": UNANNOUNCED_PK, "RowKey": rk,
        "RecordingId": t.key.id(), "Blob": blob, "RetentionClass": t.class, "RetainUntil": t.retain_until}));
    tombstone::upsert(tables, &row).await
}

/// The deletions no digest listed yet, at most [`MAX_PER_DIGEST`], in key order.
///
/// # Errors
/// Table errors.
pub async fn unannounced(tables: &dyn TableStore) -> Result<Vec<Unannounced>, AzureError> {
    let rows = tombstone::rows(tables, UNANNOUNCED_PK, MAX_PER_DIGEST).await?;
    Ok(rows.iter().filter_map(|s| from_entity(&s.entity)).collect())
}

/// Forgets deletions a digest listed; a failure is logged (the next digest repeats them).
pub async fn forget(tables: &dyn TableStore, announced: &[Unannounced]) {
    let keys = announced.iter().map(|a| a.key.as_str()).collect::<Vec<_>>();
    let kept = "an announced deletion was not forgotten; the next digest lists it again";
    tombstone::forget(tables, UNANNOUNCED_PK, &keys, kept).await;
}

fn from_entity(e: &Entity) -> Option<Unannounced> {
    let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
    Some(Unannounced {
        key: get_str(e, "RowKey")?.to_owned(),
        item: Item {
            blob: s("Blob"),
            class: s("RetentionClass"),
            retain_until: s("RetainUntil"),
        },
    })
}
