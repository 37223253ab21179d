//! Deletion evidence in table `deletions`: an intent (partition `pending`) before each delete, a
//! tombstone (keyed as the catalogue row, so a retry writes the same row) after; the next run
//! finalises or drops an intent a crash left, so no deletion goes without evidence.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::catalogue::recording::RecordingKey;
use crate::dates::format_utc;
use crate::names::named;
use crate::tables::ops::{insert_once, remove, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

pub use crate::catalogue::policy::DELETIONS_TABLE;
/// Partition of deletion intents.
pub const INTENT_PK: &str = "pending";
/// Reason of a retention deletion.
pub const REASON_EXPIRED: &str = "retention-expired";

/// The evidence of one deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// Blob key (creation day, base64url path); equals the catalogue key for recordings.
    pub key: RecordingKey,
    /// Blob URL.
    pub blob_url: String,
    /// Catalogue row id (`day~rowkey`), when the blob was catalogued (recordings).
    pub catalogue_key: Option<String>,
    /// Retention class at deletion.
    pub class: String,
    /// Retain-until at deletion.
    pub retain_until: String,
    /// SHA-256 of the content, when the catalogue had one.
    pub sha256: Option<String>,
    /// Invocation id of the sweep run.
    pub invocation_id: String,
    /// Why (`retention-expired`).
    pub reason: String,
    /// ETag the delete was conditioned on.
    pub etag: String,
}

impl Tombstone {
    fn entity(&self, pk: &str, rk: &str) -> Entity {
        crate::tables::entity(json!({
            "PartitionKey": pk, "RowKey": rk, "TombstoneId": self.key.id(),
            "BlobUrl": self.blob_url, "CatalogueKey": self.catalogue_key.clone().unwrap_or_default(),
            "RetentionClass": self.class, "RetainUntil": self.retain_until,
            "Sha256": self.sha256.clone().unwrap_or_default(), "InvocationId": self.invocation_id,
            "Reason": self.reason, "ETag": self.etag,
        }))
    }

    /// Reads an intent or tombstone back.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let opt = |k: &str| get_str(e, k).filter(|v| !v.is_empty()).map(str::to_owned);
        Some(Self {
            key: RecordingKey::parse(get_str(e, "TombstoneId")?)?,
            blob_url: s("BlobUrl"),
            catalogue_key: opt("CatalogueKey"),
            class: s("RetentionClass"),
            retain_until: s("RetainUntil"),
            sha256: opt("Sha256"),
            invocation_id: s("InvocationId"),
            reason: s("Reason"),
            etag: s("ETag"),
        })
    }
}

named! {
    /// How a deletion ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Ending {
        /// This sweep's conditional delete succeeded.
        Deleted = "deleted",
        /// The blob was gone when the delete ran (a concurrent or earlier run, or a crash recovery).
        AlreadyGone = "already-gone",
    }
}

/// Whether retention deleted the recording of `key` (its tombstone exists).
///
/// # Errors
/// Table errors.
pub async fn is_deleted(tables: &dyn TableStore, key: &RecordingKey) -> Result<bool, AzureError> {
    let row = crate::tables::ops::get(tables, DELETIONS_TABLE, &key.pk, &key.rk).await?;
    Ok(row.is_some())
}

/// Whether retention deleted, or is deleting, the blob of `key`: intent, then tombstone, read in
/// the order the sweep writes them so no interleaving hides its own deletion.
///
/// # Errors
/// Table errors.
pub async fn is_own_deletion(
    tables: &dyn TableStore,
    key: &RecordingKey,
) -> Result<bool, AzureError> {
    let intent = crate::tables::ops::get(tables, DELETIONS_TABLE, INTENT_PK, &key.id()).await?;
    Ok(intent.is_some() || is_deleted(tables, key).await?)
}

/// Records the intent to delete (upsert: a retry rewrites the same row).
///
/// # Errors
/// Table errors.
pub async fn write_intent(tables: &dyn TableStore, t: &Tombstone) -> Result<(), AzureError> {
    upsert(tables, &t.entity(INTENT_PK, &t.key.id())).await
}

/// Upserts `row` of any partition (a retry or a recovery writes the same row).
pub(crate) async fn upsert(tables: &dyn TableStore, row: &Entity) -> Result<(), AzureError> {
    write_creating_table(tables, DELETIONS_TABLE, row, WriteMode::Upsert)
        .await
        .map(drop)
}

/// Drops an intent (the delete did not happen); absent is fine.
///
/// # Errors
/// Table errors other than `NotFound`.
pub async fn drop_intent(tables: &dyn TableStore, t: &Tombstone) -> Result<(), AzureError> {
    remove(tables, DELETIONS_TABLE, INTENT_PK, &t.key.id(), None).await
}

/// Deletes rows `keys` of partition `pk` whose work is done; a failure is logged as `kept` (the
/// next run does the row's work again, under the same id).
pub(crate) async fn forget(tables: &dyn TableStore, pk: &str, keys: &[&str], kept: &str) {
    for rk in keys {
        if let Err(e) = remove(tables, DELETIONS_TABLE, pk, rk, None).await {
            tracing::warn!(row = %rk, error = %crate::telemetry::redact(&e.to_string()), "{kept}");
        }
    }
}

/// At most `limit` rows of partition `pk`, in key order (a missing table has none).
pub(crate) async fn rows(
    tables: &dyn TableStore,
    pk: &str,
    limit: usize,
) -> Result<Vec<crate::tables::Stored>, AzureError> {
    crate::tables::ops::query_all(tables, DELETIONS_TABLE, &Filter::partition(pk), limit).await
}

/// Writes the tombstone (first write wins), then drops the intent.
///
/// # Errors
/// Table errors.
pub async fn finalize(
    tables: &dyn TableStore,
    t: &Tombstone,
    ending: Ending,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    let mut e = t.entity(&t.key.pk, &t.key.rk);
    e.insert("DeletedAt".into(), Value::String(format_utc(at)));
    e.insert("Outcome".into(), Value::String(ending.as_str().into()));
    insert_once(tables, DELETIONS_TABLE, &e).await?;
    drop_intent(tables, t).await
}

/// Up to `top` open intents (a missing table has none).
///
/// # Errors
/// Table errors.
pub async fn intents(tables: &dyn TableStore, top: usize) -> Result<Vec<Tombstone>, AzureError> {
    let rows = rows(tables, INTENT_PK, top).await?;
    Ok(rows
        .iter()
        .filter_map(|s| Tombstone::from_entity(&s.entity))
        .collect())
}
