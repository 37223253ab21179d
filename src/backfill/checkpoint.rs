//! Table `backfill`: where a backfill pass stopped, and the items that failed.
//!
//! - Checkpoint: `PartitionKey` = `checkpoint`, `RowKey` = `<walk>~<from>~<to>`, `<walk>` =
//!   `<kind>.<account>.<container>` (one per container
//!   and range: a run over another range must not skip what this one listed). `Marker` is the
//!   listing marker of the page being worked on (empty for the first page), `After` the last blob
//!   name of that page completed in listing order, `Done` set once the last page is finished.
//!   Listing is in name order, so resuming = list from `Marker` and skip names `<= After`.
//! - Failed items: `PartitionKey` = `failed~<walk>`, `RowKey` = base64url(blob name) (its digest
//!   for a long one), `Name` the blob name, with the (redacted) error. Retried first by every run; deleted once they succeed or the blob is gone.

use std::sync::Arc;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::format_utc;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, write_creating_table};
use crate::tables::{Filter, TableStore, WriteMode, get_str};

/// Table of checkpoints and failed items.
pub const BACKFILL_TABLE: &str = "backfill";

/// Where a pass over one container stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Listing marker of the current page (`None` = the first page).
    pub marker: Option<String>,
    /// Last name of that page completed (`None` = none yet).
    pub after: Option<String>,
    /// The whole range was listed and processed.
    pub done: bool,
}

/// The `backfill` table.
#[derive(Clone)]
pub struct BackfillRepo {
    tables: Arc<dyn TableStore>,
}

fn some(s: Option<&str>) -> Option<String> {
    s.filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The row key of a failed item (a blob name of up to 1,024 characters): through the one key
/// encoder, so a long name is keyed by its digest and the row keeps the name.
pub fn failed_key(name: &str) -> String {
    key(name, Spelling::Encoded, MAX_KEY_BYTES)
}

impl BackfillRepo {
    /// A repository over `tables`.
    pub fn new(tables: Arc<dyn TableStore>) -> Self {
        Self { tables }
    }

    /// The checkpoint row key of `kind` over `[from, to)`.
    pub fn key(kind: &str, from: OffsetDateTime, to: OffsetDateTime) -> String {
        format!("{kind}~{}~{}", format_utc(from), format_utc(to))
    }

    /// Reads a checkpoint (default when none).
    ///
    /// # Errors
    /// Table errors.
    pub async fn load(&self, key: &str) -> Result<Checkpoint, AzureError> {
        let row = get(self.tables.as_ref(), BACKFILL_TABLE, "checkpoint", key).await?;
        Ok(row.map_or_else(Checkpoint::default, |s| Checkpoint {
            marker: some(get_str(&s.entity, "Marker")),
            after: some(get_str(&s.entity, "After")),
            done: s.entity.get("Done").and_then(Value::as_bool) == Some(true),
        }))
    }

    /// Saves a checkpoint (upsert: the process is the only writer of its range).
    ///
    /// # Errors
    /// Table errors.
    pub async fn save(
        &self,
        key: &str,
        c: &Checkpoint,
        now: OffsetDateTime,
    ) -> Result<(), AzureError> {
        let e = crate::tables::entity(json!({
            "PartitionKey": "checkpoint", "RowKey": key, "Done": c.done, "UpdatedAt": format_utc(now),
            "Marker": c.marker.as_deref().unwrap_or_default(),
            "After": c.after.as_deref().unwrap_or_default(),
        }));
        write_creating_table(self.tables.as_ref(), BACKFILL_TABLE, &e, WriteMode::Upsert).await?;
        Ok(())
    }

    /// Records a failed item of `kind`.
    ///
    /// # Errors
    /// Table errors.
    pub async fn fail(
        &self,
        kind: &str,
        name: &str,
        error: &str,
        now: OffsetDateTime,
    ) -> Result<(), AzureError> {
        // Blob names may have 1,024 characters: a long one is keyed by its digest, and the row
        // keeps the name.
        let e = crate::tables::entity(json!({
            "PartitionKey": format!("failed~{kind}"), "RowKey": failed_key(name), "Name": name,
            "Error": error, "At": format_utc(now),
        }));
        write_creating_table(self.tables.as_ref(), BACKFILL_TABLE, &e, WriteMode::Upsert).await?;
        Ok(())
    }

    /// Forgets a failed item (it succeeded or is gone).
    ///
    /// # Errors
    /// Table errors.
    pub async fn clear(&self, kind: &str, name: &str) -> Result<(), AzureError> {
        let pk = format!("failed~{kind}");
        let rk = failed_key(name);
        crate::tables::ops::remove(&*self.tables, BACKFILL_TABLE, &pk, &rk, None).await
    }

    /// Names of the failed items of `kind` (at most `limit`).
    ///
    /// # Errors
    /// Table errors.
    pub async fn failed(&self, kind: &str, limit: usize) -> Result<Vec<String>, AzureError> {
        let filter = Filter::partition(&format!("failed~{kind}"));
        let rows =
            crate::tables::ops::query_all(&*self.tables, BACKFILL_TABLE, &filter, limit).await?;
        Ok(rows
            .iter()
            .filter_map(|s| get_str(&s.entity, "Name").map(str::to_owned))
            .collect())
    }
}
