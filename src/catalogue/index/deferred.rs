//! Index rows held back by a caller that writes many catalogue rows (a backfill page) and written
//! 100 to a call per partition ([`TableStore::batch`]) before that caller records its progress: a
//! VM's or user's rows share a partition, so a page of recordings costs a few calls, not one per row.
//!
//! The order rule of the module (index rows before the catalogue row) holds per page instead of per
//! row: the caller flushes before it saves a checkpoint past the rows, and a run stopped before the
//! flush resumes before them, finds them `Present` and writes their missing index rows ([`ensure`](super::ensure)).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use futures::{StreamExt as _, TryStreamExt as _};

use super::{INDEX_TABLE, entity};
use crate::tables::ops::upsert_batched;
use crate::tables::{MAX_BATCH, TableError, TableStore};

/// Batches written at once by a flush.
const BATCHES_IN_FLIGHT: usize = 16;

/// Index rows `(PartitionKey, RowKey)` waiting for [`Deferred::flush`].
#[derive(Debug, Default)]
pub struct Deferred(Mutex<BTreeSet<(String, String)>>);

impl Deferred {
    /// Holds `keys` back until the next flush.
    pub fn add(&self, keys: Vec<(String, String)>) {
        self.0.lock().expect("deferred index rows").extend(keys);
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.0.lock().expect("deferred index rows").len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let mut chunks = by_pk
            .iter()
            .flat_map(|(pk, rks)| rks.chunks(MAX_BATCH).map(move |c| (pk, c)));
        // The first alone: it creates the table on its first use.
        let mut written = match chunks.next() {
            Some((pk, rks)) => write_batch(tables, pk, rks).await?,
            None => return Ok(0),
        };
        // Partitions are independent: their batches go out side by side, not one round trip
        // after another (a page of recordings spans hundreds of VM and user partitions).
        let mut batches = Vec::new();
        for (pk, rks) in chunks {
            batches.push(write_batch(tables, pk, rks));
        }
        written += futures::stream::iter(batches)
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_fold(0, |sum, n| async move { Ok(sum + n) })
            .await?;
        Ok(written)
    }
}

/// One partition's batch of up to 100 rows.
async fn write_batch(
    tables: &dyn TableStore,
    pk: &str,
    rks: &[String],
) -> Result<usize, TableError> {
    let rows: Vec<_> = rks.iter().map(|rk| entity(pk, rk)).collect();
    upsert_batched(tables, INDEX_TABLE, &rows).await?;
    Ok(rks.len())
}
