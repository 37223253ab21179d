//! Reads of table `recordings` and its one writer, [`CatalogueRepo::update`]. With the Sentinel
//! export on, a written row is first recorded in the outbox, keyed by time and id (a lost race or a
//! crash is recorded again by the retry). Every module outside the catalogue reads the table through
//! the free functions here: typed ([`recordings`], [`versioned`], [`page`], [`recording`]), or, for
//! the callers that show or copy the row itself, as stored ([`recording_row`]). Table
//! `recordingpaths`, the path index, holds a blob's rows by name (PK = its row key, RK = creation
//! day), for `BlobDeleted` events, which do not name the day; it is written before the row itself
//! ([`put_path`], [`rows_of`]).

use std::sync::Arc;

use super::recording::RECORDINGS_TABLE;
use super::recording::{Recording, RecordingKey};
use crate::azure::AzureError;
use crate::clock::Clock;
use crate::export::Outbox;
use crate::tables::filter::Op;
use crate::tables::ops::{self, query_all, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_str};

/// Reads and writes table `recordings`.
#[derive(Clone)]
pub struct CatalogueRepo {
    tables: Arc<dyn TableStore>,
    /// Where written rows are recorded for Sentinel, and the clock of their time (only when on).
    export: Option<(Outbox, Arc<dyn Clock>)>,
}

crate::telemetry::debug_fields!(CatalogueRepo {});

/// A row with the ETag it was read with.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The row.
    pub value: T,
    /// Its ETag.
    pub etag: String,
}

/// The row of a stored entity; `None` when it lost its key or times.
pub fn parsed(s: &Stored) -> Option<Versioned<Recording>> {
    Some(Versioned {
        value: Recording::from_entity(&s.entity)?,
        etag: s.etag.clone(),
    })
}

/// Recording `key`'s row; `None` when absent or no longer a recording row.
///
/// # Errors
/// Table errors.
pub async fn recording(
    tables: &dyn TableStore,
    key: &RecordingKey,
) -> Result<Option<Recording>, AzureError> {
    let row = ops::get(tables, RECORDINGS_TABLE, &key.pk, &key.rk).await?;
    Ok(row.and_then(|s| Recording::from_entity(&s.entity)))
}

/// Recording `key`'s row as stored, without the service's annotations (the detail shows it, a
/// review copies its names).
///
/// # Errors
/// Table errors.
pub async fn recording_row(
    tables: &dyn TableStore,
    key: &RecordingKey,
) -> Result<Option<Entity>, AzureError> {
    let row = ops::get(tables, RECORDINGS_TABLE, &key.pk, &key.rk).await?;
    Ok(row.map(|s| s.entity))
}

/// The recordings matching `filter`, at most `limit` rows read (none while the table is absent).
///
/// # Errors
/// Table errors.
pub async fn recordings(
    tables: &dyn TableStore,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<Recording>, AzureError> {
    let rows = versioned(tables, filter, limit).await?;
    Ok(rows.into_iter().map(|v| v.value).collect())
}

/// The recordings matching `filter` with the ETags they were read with, at most `limit` rows read.
///
/// # Errors
/// Table errors.
pub async fn versioned(
    tables: &dyn TableStore,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<Versioned<Recording>>, AzureError> {
    let rows = query_all(tables, RECORDINGS_TABLE, filter, limit).await?;
    Ok(rows.iter().filter_map(parsed).collect())
}

/// One page of at most 1,000 rows matching `filter` from `continuation` on: the recordings among
/// them, each with its row as stored (the evidence pack copies its columns), and the next page's
/// continuation.
///
/// # Errors
/// Table errors; `NotFound` while the table is absent (nothing is catalogued on any day).
pub async fn page(
    tables: &dyn TableStore,
    filter: &Filter,
    continuation: Option<String>,
) -> Result<(Vec<(Recording, Entity)>, Option<String>), AzureError> {
    let page = tables
        .query(RECORDINGS_TABLE, Some(filter), Some(1000), continuation)
        .await?;
    let rows = page.items.into_iter();
    let found = rows.filter_map(|s| Some((Recording::from_entity(&s.entity)?, s.entity)));
    Ok((found.collect(), page.next))
}

impl CatalogueRepo {
    /// The functions' repository: each row it writes is also recorded in `outbox`.
    pub fn exporting(tables: Arc<dyn TableStore>, outbox: &Outbox, clock: &Arc<dyn Clock>) -> Self {
        Self {
            tables,
            export: outbox.enabled().then(|| (outbox.clone(), clock.clone())),
        }
    }

    /// Reads a row.
    ///
    /// # Errors
    /// Table errors; `Permanent` for a row that lost required properties.
    pub async fn get(
        &self,
        key: &RecordingKey,
    ) -> Result<Option<Versioned<Recording>>, AzureError> {
        let Some(stored) =
            ops::get(self.tables.as_ref(), RECORDINGS_TABLE, &key.pk, &key.rk).await?
        else {
            return Ok(None);
        };
        parsed(&stored).map(Some).ok_or_else(|| broken(key))
    }

    /// The rows of day partition `pk` whose `RowKey` lies in `[from, to]`, by key; a row that no
    /// longer parses maps to `None`.
    pub async fn range(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Option<Versioned<Recording>>)>, AzureError> {
        let filter = Filter::And(vec![
            Filter::partition(pk),
            Filter::str("RowKey", Op::Ge, from),
            Filter::str("RowKey", Op::Le, to),
        ]);
        let rows = query_all(self.tables.as_ref(), RECORDINGS_TABLE, &filter, usize::MAX).await?;
        Ok(rows
            .iter()
            .filter_map(|s| {
                let rk = crate::tables::get_str(&s.entity, "RowKey")?.to_owned();
                Some((rk, parsed(s)))
            })
            .collect())
    }

    /// The one writer, conditional as [`update_from`](crate::tables::ops::update_from): `change`
    /// maps the row as stored (`read` first) to the row to store. Returns the row written, if any.
    ///
    /// # Errors
    /// Table errors; `Permanent` for a row that lost required properties, `Transient` when the
    /// row kept changing.
    pub async fn update(
        &self,
        key: &RecordingKey,
        read: Option<Versioned<Recording>>,
        mut change: impl FnMut(Option<&Recording>) -> Option<Recording> + Send,
    ) -> Result<Option<Versioned<Recording>>, AzureError> {
        let (mut lost_properties, mut wrote) = (false, None);
        let read = read.map(|r| Stored {
            entity: r.value.to_entity(),
            etag: r.etag,
        });
        let export = self.export.as_ref().map(|(o, c)| (o.clone(), c.now()));
        let stored = ops::update_with(
            self.tables.as_ref(),
            RECORDINGS_TABLE,
            &key.pk,
            &key.rk,
            read,
            |cur| {
                let row = cur.map(|s| Recording::from_entity(&s.entity));
                lost_properties = matches!(row, Some(None));
                wrote = if lost_properties {
                    None
                } else {
                    change(row.flatten().as_ref())
                };
                let entity = wrote.as_ref().map(Recording::to_entity);
                // Recorded before the write, over the same key on every attempt.
                let record = export.as_ref().zip(wrote.as_ref());
                let record = record.map(|((outbox, at), r)| (outbox.clone(), r.export_row(*at)));
                async move {
                    if let Some((outbox, row)) = record {
                        outbox.record(&row).await?;
                    }
                    Ok(entity.map(|e| (e, ops::Companions::new())))
                }
            },
        )
        .await?;
        if lost_properties {
            return Err(broken(key));
        }
        Ok(wrote.zip(stored).map(|(value, s)| Versioned {
            value,
            etag: s.etag,
        }))
    }
}

/// The error for a row that lost required properties.
fn broken(key: &RecordingKey) -> AzureError {
    AzureError::Permanent(format!(
        "catalogue row {} is missing required properties",
        key.id()
    ))
}

/// Table of the path index.
pub const RECORDING_PATHS_TABLE: &str = "recordingpaths";

/// Most days one name is read for ([`rows_of`]).
const MAX_DAYS: usize = 100;

/// Records that `key`'s blob has a row under its day (idempotent).
pub async fn put_path(tables: &dyn TableStore, key: &RecordingKey) -> Result<(), AzureError> {
    let mut e = crate::tables::keyed(key.rk.clone(), key.pk.clone());
    e.insert("RecordingId".into(), key.id().into());
    write_creating_table(tables, RECORDING_PATHS_TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// The rows of the blob whose row key is `rk`, newest day first (an absent table has none).
pub async fn rows_of(tables: &dyn TableStore, rk: &str) -> Result<Vec<RecordingKey>, AzureError> {
    let rows = query_all(
        tables,
        RECORDING_PATHS_TABLE,
        &Filter::partition(rk),
        MAX_DAYS,
    )
    .await?;
    let mut keys: Vec<RecordingKey> = rows
        .iter()
        .filter_map(|s| {
            let day = get_str(&s.entity, "RowKey")?;
            Some(RecordingKey {
                pk: day.to_owned(),
                rk: rk.to_owned(),
            })
        })
        .collect();
    keys.sort_by(|a, b| b.pk.cmp(&a.pk));
    Ok(keys)
}
