//! The units' endings of one instance, written together: the queue trigger hands an instance a
//! batch of messages at once, and their units mostly end together, so each ending waits for the
//! next write of its timer's partition and rides in it (one entity group transaction for up to a
//! hundred rows) instead of costing a call of its own; a write first waits a tenth of a second
//! for the batch's others to end. A delivery answers only once its ending is
//! written (or its write failed), so a unit's row never lags behind a run the queue saw succeed.
//! A unit's claim ([`Endings::claim`]) waits for nothing: it goes at once, taking with it the
//! claims of units starting at the same moment and the endings of its partition still waiting
//! (whose wait it cuts short); a transaction with a claim whose row changed is refused whole, and
//! its rows are then written one by one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

use crate::azure::AzureError;
use crate::tables::{Entity, MAX_BATCH, TableStore, WriteMode, get_str};

/// How long a write waits for the other endings of its batch before it goes: a tenth of a second
/// on a delivery's answer, for one transaction per batch rather than one per few units.
pub(super) const LINGER: std::time::Duration = std::time::Duration::from_millis(100);

/// A row waiting for its write: its number (to know whether it was taken), the row, how it is
/// written, and where its result goes.
type Waiting = (
    u64,
    Entity,
    WriteMode,
    oneshot::Sender<Result<(), AzureError>>,
);

/// This instance's endings waiting for their write, by partition.
#[derive(Debug, Default)]
pub struct Endings {
    waiting: Mutex<BTreeMap<String, Vec<Waiting>>>,
    /// Held by the one endings' write under way: the endings arriving meanwhile wait and go in
    /// the next (claims do not take it).
    writing: tokio::sync::Mutex<()>,
    /// The last number given to a waiting row.
    numbered: AtomicU64,
}

impl Endings {
    /// Writes `row` (a unit's ending, with its keys) with whatever endings of its partition wait.
    ///
    /// # Errors
    /// The write's error (the whole transaction failed).
    pub async fn write(&self, tables: &dyn TableStore, row: Entity) -> Result<(), AzureError> {
        let (pk, n, mut rx) = self.push(row, WriteMode::Upsert);
        loop {
            let _writing = self.writing.lock().await;
            let Some(count) = self.count(&pk, n) else {
                break;
            };
            if count < MAX_BATCH {
                // A claim may take the row meanwhile: its answer ends the wait.
                tokio::select! {
                    () = tokio::time::sleep(LINGER) => {}
                    written = &mut rx => return written.unwrap_or_else(dropped),
                }
            }
            self.write_waiting(tables, &pk).await;
        }
        answer(rx).await
    }

    /// Writes a unit's claim (`super::store::claim`) now, with the claims of its partition
    /// made at the same moment and its partition's endings still waiting.
    ///
    /// # Errors
    /// `PreconditionFailed` when its row is no longer as planned (another copy claimed it, or a
    /// later period planned it again); the write's error.
    pub async fn claim(
        &self,
        tables: &dyn TableStore,
        (row, mode): (Entity, WriteMode),
    ) -> Result<(), AzureError> {
        let (pk, n, rx) = self.push(row, mode);
        // Lets the deliveries ready at this moment reach their claims: they then share this write.
        tokio::task::yield_now().await;
        while self.count(&pk, n).is_some() {
            self.write_waiting(tables, &pk).await;
        }
        answer(rx).await
    }

    fn push(
        &self,
        row: Entity,
        mode: WriteMode,
    ) -> (String, u64, oneshot::Receiver<Result<(), AzureError>>) {
        let pk = get_str(&row, "PartitionKey").unwrap_or_default().to_owned();
        let n = self.numbered.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock()
            .entry(pk.clone())
            .or_default()
            .push((n, row, mode, tx));
        (pk, n, rx)
    }

    /// How many rows of `pk` wait, when row `n` is one of them (`None`: taken by a write).
    fn count(&self, pk: &str, n: u64) -> Option<usize> {
        let waiting = self.lock();
        let all = waiting.get(pk)?;
        all.iter().any(|w| w.0 == n).then_some(all.len())
    }

    /// Writes up to a transaction's worth of `pk`'s waiting rows, if any.
    async fn write_waiting(&self, tables: &dyn TableStore, pk: &str) {
        let batch = self.take(pk);
        if !batch.is_empty() {
            write_batch(tables, batch).await;
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
            let rk = get_str(&w.1, "RowKey").unwrap_or_default().to_owned();
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
    if batch
        .iter()
        .all(|(_, _, m, _)| matches!(m, WriteMode::Upsert))
    {
        let rows: Vec<Entity> = batch.iter().map(|(_, e, _, _)| e.clone()).collect();
        let result = super::store::write_rows(tables, &rows).await;
        for (_, _, _, tx) in batch {
            let _ = tx.send(result.clone());
        }
        return;
    }
    let writes: Vec<(Entity, WriteMode)> = (batch.iter())
        .map(|(_, e, m, _)| (e.clone(), m.clone()))
        .collect();
    let results = super::store::write_some(tables, &writes).await;
    for ((_, _, _, tx), result) in batch.into_iter().zip(results) {
        let _ = tx.send(result);
    }
}

/// The result a row's write sent.
async fn answer(rx: oneshot::Receiver<Result<(), AzureError>>) -> Result<(), AzureError> {
    rx.await.unwrap_or_else(dropped)
}

fn dropped(_: oneshot::error::RecvError) -> Result<(), AzureError> {
    Err(AzureError::Transient("ending dropped".into()))
}
