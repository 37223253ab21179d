//! The units' endings of one instance, written together: the queue trigger hands an instance a
//! batch of messages at once, and their units mostly end together, so each ending waits for the
//! next write of its timer's partition and rides in it (one entity group transaction for up to a
//! hundred rows) instead of costing a call of its own; a write first waits a tenth of a second
//! for the batch's others to end. A delivery answers only once its ending is
//! written (or its write failed), so a unit's row never lags behind a run the queue saw succeed.
//! The claims of units starting together ride the same way ([`Endings::claim`]): a transaction
//! with a claim whose row changed is refused whole, and its rows are then written one by one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::azure::AzureError;
use crate::tables::{Entity, MAX_BATCH, TableStore, WriteMode, get_str};

/// How long a write waits for the other endings of its batch before it goes: a tenth of a second
/// on a delivery's answer, for one transaction per batch rather than one per few units.
const LINGER: std::time::Duration = std::time::Duration::from_millis(100);

type Waiting = (Entity, WriteMode, oneshot::Sender<Result<(), AzureError>>);

/// This instance's endings waiting for their write, by partition.
#[derive(Debug, Default)]
pub struct Endings {
    waiting: Mutex<BTreeMap<String, Vec<Waiting>>>,
    /// Held by the one write under way: the endings arriving meanwhile wait and go in the next.
    writing: tokio::sync::Mutex<()>,
}

impl Endings {
    /// Writes `row` (a unit's ending, with its keys) with whatever endings of its partition wait.
    ///
    /// # Errors
    /// The write's error (the whole transaction failed).
    pub async fn write(&self, tables: &dyn TableStore, row: Entity) -> Result<(), AzureError> {
        self.send(tables, row, WriteMode::Upsert).await
    }

    /// Writes a unit's claim (`super::store::claim`) with whatever rows of its partition wait.
    ///
    /// # Errors
    /// `PreconditionFailed` when its row is no longer as planned (another copy claimed it); the
    /// write's error.
    pub async fn claim(
        &self,
        tables: &dyn TableStore,
        (row, mode): (Entity, WriteMode),
    ) -> Result<(), AzureError> {
        self.send(tables, row, mode).await
    }

    async fn send(
        &self,
        tables: &dyn TableStore,
        row: Entity,
        mode: WriteMode,
    ) -> Result<(), AzureError> {
        let pk = get_str(&row, "PartitionKey").unwrap_or_default().to_owned();
        let (tx, mut rx) = oneshot::channel();
        self.lock()
            .entry(pk.clone())
            .or_default()
            .push((row, mode, tx));
        loop {
            {
                let _writing = self.writing.lock().await;
                if self.lock().get(&pk).is_some_and(|w| w.len() < MAX_BATCH) {
                    tokio::time::sleep(LINGER).await;
                }
                let batch = self.take(&pk);
                if !batch.is_empty() {
                    write_batch(tables, batch).await;
                }
            }
            match rx.try_recv() {
                Ok(r) => return r,
                Err(oneshot::error::TryRecvError::Empty) => continue,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(AzureError::Transient("ending dropped".into()));
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Waiting>>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Up to a transaction's worth of `pk`'s waiting rows, oldest first, each row once (a
    /// transaction names a row once: a later write of a row waits for the next).
    fn take(&self, pk: &str) -> Vec<Waiting> {
        let mut waiting = self.lock();
        let Some(all) = waiting.get_mut(pk) else {
            return Vec::new();
        };
        let mut keys = BTreeSet::new();
        let mut batch = Vec::new();
        let mut rest = Vec::new();
        for w in all.drain(..) {
            let rk = get_str(&w.0, "RowKey").unwrap_or_default().to_owned();
            if batch.len() < MAX_BATCH && keys.insert(rk) {
                batch.push(w);
            } else {
                rest.push(w);
            }
        }
        *all = rest;
        if all.is_empty() {
            waiting.remove(pk);
        }
        batch
    }
}

/// Writes `batch` and tells each waiter how its row went.
async fn write_batch(tables: &dyn TableStore, batch: Vec<Waiting>) {
    if batch.iter().all(|(_, m, _)| matches!(m, WriteMode::Upsert)) {
        let rows: Vec<Entity> = batch.iter().map(|(e, _, _)| e.clone()).collect();
        let result = super::store::write_rows(tables, &rows).await;
        for (_, _, tx) in batch {
            let _ = tx.send(result.clone());
        }
        return;
    }
    let writes: Vec<(Entity, WriteMode)> = (batch.iter())
        .map(|(e, m, _)| (e.clone(), m.clone()))
        .collect();
    let results = super::store::write_some(tables, &writes).await;
    for ((_, _, tx), result) in batch.into_iter().zip(results) {
        let _ = tx.send(result);
    }
}
