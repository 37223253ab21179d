//! Index rows held back by a caller that writes many catalogue rows (a backfill page) and written
//! 100 to a call per partition ([`TableStore::batch`]) before that caller records its progress: a
//! VM's or user's rows share a partition, so a page of recordings costs a few calls, not one per row.
//!
//! The order rule of the module (index rows before the catalogue row) holds per page instead of per
//! row: the caller flushes before it saves a checkpoint past the rows, and a run stopped before the
//! flush resumes before them, finds them `Present` and writes their missing index rows ([`ensure`](super::ensure)).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::{INDEX_TABLE, entity, write_all};
use crate::tables::{MAX_BATCH, TableError, TableStore, WriteMode};

/// Index rows `(PartitionKey, RowKey)` waiting for [`Deferred::flush`].
#[derive(Debug, Default)]
pub struct Deferred(Mutex<BTreeSet<(String, String)>>);

impl Deferred {
    /// Holds `keys` back until the next flush.
    pub fn add(&self, keys: Vec<(String, String)>) {
        self.0.lock().expect("deferred index rows").extend(keys);
    }

    /// Upserts every row held so far, one entity group transaction per partition and 100 rows; a
    /// batch the service refuses is redone row by row (the errors of those writes are returned).
    /// Returns how many rows were written.
    ///
    /// # Errors
    /// Table errors.
    pub async fn flush(&self, tables: &dyn TableStore) -> Result<usize, TableError> {
        let held = std::mem::take(&mut *self.0.lock().expect("deferred index rows"));
        let mut by_pk: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (pk, rk) in held {
            by_pk.entry(pk).or_default().push(rk);
        }
        let mut written = 0;
        for (pk, rks) in by_pk {
            for chunk in rks.chunks(MAX_BATCH) {
                let writes: Vec<_> = chunk
                    .iter()
                    .map(|rk| (entity(&pk, rk), WriteMode::Upsert))
                    .collect();
                match tables.batch(INDEX_TABLE, &writes).await {
                    Ok(_) => {}
                    // No table yet, or a refused batch: row by row (creates the table, names the row).
                    Err(_) => {
                        let keys = chunk.iter().map(|rk| (pk.clone(), rk.clone())).collect();
                        write_all(tables, keys).await?;
                    }
                }
                written += chunk.len();
            }
        }
        Ok(written)
    }
}
