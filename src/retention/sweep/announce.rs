//! Deletions no digest listed yet (table `deletions`, partition [`UNANNOUNCED_PK`]): remembered
//! before the tombstone, forgotten once a digest is in the outputs, so a failed run's deletions
//! reach the next digest.

use serde_json::json;

use super::Item;
use crate::azure::AzureError;
use crate::retention::tombstone::{DELETIONS_TABLE, Tombstone};
use crate::storage::BlobRef;
use crate::tables::ops::{self, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

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
    let row = crate::retention::row(json!({"PartitionKey": UNANNOUNCED_PK, "RowKey": rk,
        "RecordingId": t.key.id(), "Blob": blob, "RetentionClass": t.class, "RetainUntil": t.retain_until}));
    write_creating_table(tables, DELETIONS_TABLE, &row, WriteMode::Upsert)
        .await
        .map(|_| ())
}

/// The deletions no digest listed yet, at most [`MAX_PER_DIGEST`], in key order.
///
/// # Errors
/// Table errors.
pub async fn unannounced(tables: &dyn TableStore) -> Result<Vec<Unannounced>, AzureError> {
    let filter = Filter::partition(UNANNOUNCED_PK);
    let (mut out, mut next) = (Vec::new(), None);
    loop {
        let page = ops::page(tables, DELETIONS_TABLE, &filter, 1000, next).await?;
        out.extend(page.items.iter().filter_map(|s| from_entity(&s.entity)));
        next = page.next;
        if next.is_none() || out.len() >= MAX_PER_DIGEST {
            out.truncate(MAX_PER_DIGEST);
            return Ok(out);
        }
    }
}

/// Forgets deletions a digest listed; a failure is logged (the next digest repeats them).
pub async fn forget(tables: &dyn TableStore, announced: &[Unannounced]) {
    for a in announced {
        match tables
            .delete(DELETIONS_TABLE, UNANNOUNCED_PK, &a.key, None)
            .await
        {
            Ok(()) | Err(AzureError::NotFound) => {}
            Err(e) => {
                tracing::warn!(tombstone = %a.key, error = %crate::telemetry::redact(&e.to_string()), "an announced deletion was not forgotten; the next digest lists it again");
            }
        }
    }
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
