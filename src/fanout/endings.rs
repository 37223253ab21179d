//! The units' endings of one instance, written together: the queue trigger hands an instance a
//! batch of messages at once, and their units mostly end together, so each ending waits for the
//! next write of its timer's partition and rides in it (one entity group transaction for up to a
//! hundred rows) instead of costing a call of its own; a write first waits a tenth of a second
//! for the batch's others to end. A delivery answers only once its ending is
//! written (or its write failed), so a unit's row never lags behind a run the queue saw succeed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::azure::AzureError;
use crate::tables::{Entity, MAX_BATCH, TableStore, get_str};

/// How long a write waits for the other endings of its batch before it goes: a tenth of a second
/// on a delivery's answer, for one transaction per batch rather than one per few units.
const LINGER: std::time::Duration = std::time::Duration::from_millis(100);

type Waiting = (Entity, oneshot::Sender<Result<(), AzureError>>);

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
        let pk = get_str(&row, "PartitionKey").unwrap_or_default().to_owned();
        let (tx, mut rx) = oneshot::channel();
        self.lock().entry(pk.clone()).or_default().push((row, tx));
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

    /// Up to a transaction's worth of `pk`'s waiting endings, oldest first.
    fn take(&self, pk: &str) -> Vec<Waiting> {
        let mut waiting = self.lock();
        let Some(all) = waiting.get_mut(pk) else {
            return Vec::new();
        };
        let n = all.len().min(MAX_BATCH);
        let batch: Vec<Waiting> = all.drain(..n).collect();
        if all.is_empty() {
            waiting.remove(pk);
        }
        batch
    }
}

/// Writes `batch` (the last ending of a row wins: a transaction names a row once) and tells each
/// waiter how it went.
async fn write_batch(tables: &dyn TableStore, batch: Vec<Waiting>) {
    let mut rows: BTreeMap<String, Entity> = BTreeMap::new();
    for (row, _) in &batch {
        let rk = get_str(row, "RowKey").unwrap_or_default().to_owned();
        rows.insert(rk, row.clone());
    }
    let rows: Vec<Entity> = rows.into_values().collect();
    let result = super::store::write_rows(tables, &rows).await;
    for (_, tx) in batch {
        let _ = tx.send(result.clone());
    }
}
