//! Repositories over the table port. Concrete structs, not seams: the table fake covers them.

use std::sync::Arc;

use super::RECORDINGS_TABLE;
use super::model::{CatalogueEntry, RecordingKey};
use crate::tables::filter::Op;
use crate::tables::ops::{self, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableError, TableStore, WriteMode};

/// What [`CatalogueRepo::update`] hands a change: the row as stored now (`None`: absent); it returns
/// the new value and the entity to merge it onto, or `None` when there is nothing to write.
pub type RowChange<'a> =
    dyn FnMut(Option<&Versioned<CatalogueEntry>>) -> Option<(CatalogueEntry, Entity)> + Send + 'a;

/// Reads and writes table `recordings`.
#[derive(Clone)]
pub struct CatalogueRepo {
    tables: Arc<dyn TableStore>,
}

crate::telemetry::debug_fields!(CatalogueRepo {});

/// A row with the ETag it was read with, and the raw entity (which may carry properties other
/// modules added, e.g. joined session fields, that a rewrite must keep).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The row.
    pub value: T,
    /// Its ETag.
    pub etag: String,
    /// The entity as stored.
    pub raw: Entity,
}

impl CatalogueRepo {
    /// A repository over `tables`.
    pub fn new(tables: Arc<dyn TableStore>) -> Self {
        Self { tables }
    }

    /// Reads a row. Rows that no longer parse are reported as absent-but-present via `Err`.
    ///
    /// # Errors
    /// Table errors; `Permanent` for a row that lost required properties.
    pub async fn get(
        &self,
        key: &RecordingKey,
    ) -> Result<Option<Versioned<CatalogueEntry>>, TableError> {
        let Some(stored) = self.tables.get(RECORDINGS_TABLE, &key.pk, &key.rk).await? else {
            return Ok(None);
        };
        parsed(&stored).map(Some).ok_or_else(|| broken(key))
    }

    /// The rows of day partition `pk` whose `RowKey` lies in `[from, to]`, by key (one query per
    /// 1,000 rows: a backfill reads a listing page's rows at once instead of one by one). A row
    /// that no longer parses maps to `None` (its reader decides on it alone, as [`get`](Self::get)).
    ///
    /// # Errors
    /// Table errors.
    pub async fn range(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Option<Versioned<CatalogueEntry>>)>, TableError> {
        let filter = Filter::And(vec![
            Filter::partition(pk),
            Filter::str("RowKey", Op::Ge, from),
            Filter::str("RowKey", Op::Le, to),
        ]);
        let rows =
            ops::query_all(self.tables.as_ref(), RECORDINGS_TABLE, &filter, usize::MAX).await?;
        Ok(rows
            .iter()
            .filter_map(|s| {
                let rk = crate::tables::get_str(&s.entity, "RowKey")?.to_owned();
                Some((rk, parsed(s)))
            })
            .collect())
    }

    /// Inserts a new row (`Conflict` if another writer got there first) or replaces one read at `etag`.
    /// Properties of `base` that `entry` does not define are kept.
    ///
    /// # Errors
    /// `Conflict`, `PreconditionFailed`, or transient failures.
    pub async fn write(
        &self,
        entry: &CatalogueEntry,
        base: Option<&Entity>,
        mode: WriteMode,
    ) -> Result<String, TableError> {
        let entity = match base {
            None => entry.to_entity(),
            Some(base) => {
                let mut merged = base.clone();
                merged.extend(entry.to_entity());
                merged
            }
        };
        write_creating_table(self.tables.as_ref(), RECORDINGS_TABLE, &entity, mode).await
    }

    /// Rewrites the row at `key` through `change` with [`ops::update_from`], starting from `read`
    /// (the row as the caller just read it; `None`: absent). `change` gets the row as stored now
    /// (`None`: absent) and returns the new value with the entity it is merged onto, which keeps
    /// properties other modules added (`None`: nothing to write). Returns the row as written, or
    /// `None` when nothing was.
    ///
    /// # Errors
    /// Table errors; `Permanent` for a row that lost required properties, `Transient` when the
    /// row kept changing.
    pub async fn update(
        &self,
        key: &RecordingKey,
        read: Option<Versioned<CatalogueEntry>>,
        change: &mut RowChange<'_>,
    ) -> Result<Option<Versioned<CatalogueEntry>>, TableError> {
        let (mut lost_properties, mut wrote) = (false, None);
        let read = read.map(|r| Stored {
            entity: r.raw,
            etag: r.etag,
        });
        let stored = ops::update_from(
            self.tables.as_ref(),
            RECORDINGS_TABLE,
            &key.pk,
            &key.rk,
            read,
            &mut |cur| {
                wrote = None;
                let row = cur.map(parsed);
                lost_properties = matches!(row, Some(None));
                if lost_properties {
                    return None;
                }
                let (entry, mut merged) = change(row.flatten().as_ref())?;
                merged.extend(entry.to_entity());
                wrote = Some(entry);
                Some(merged)
            },
        )
        .await?;
        if lost_properties {
            return Err(broken(key));
        }
        Ok(wrote.zip(stored).map(|(value, s)| Versioned {
            value,
            etag: s.etag,
            raw: s.entity,
        }))
    }
}

/// The row of a stored entity; `None` when it lost required properties.
fn parsed(s: &Stored) -> Option<Versioned<CatalogueEntry>> {
    Some(Versioned {
        value: CatalogueEntry::from_entity(&s.entity)?,
        etag: s.etag.clone(),
        raw: s.entity.clone(),
    })
}

/// The error for a row that lost required properties.
fn broken(key: &RecordingKey) -> TableError {
    TableError::Permanent(format!(
        "catalogue row {} is missing required properties",
        key.id()
    ))
}
