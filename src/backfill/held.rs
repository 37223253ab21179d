//! The index rows a recordings backfill's joins hold back, across pages and containers, and the
//! checkpoints that wait for them: a checkpoint is saved only after the rows of every item it
//! passes are written, so rows are written once per [`HeldIndex::MAX_ROWS`] (one batch per VM or
//! user partition), not once per page or container — a VM's or user's recordings share a partition
//! whichever Bastion host recorded them.
//!
//! A run stopped before a release resumes from the checkpoints saved at the one before, finds the
//! recordings since then `Present` and writes their missing index rows then.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::checkpoint::{BackfillRepo, Checkpoint};
use crate::catalogue::index::Deferred;
use crate::invocation::HandlerError;
use crate::state::AppState;

/// Index rows held and the checkpoints waiting for them.
#[derive(Debug, Default)]
pub struct HeldIndex {
    /// Rows of the joins since the last release.
    pub rows: Arc<Deferred>,
    /// Checkpoint per walk key, the latest one only.
    saves: Mutex<BTreeMap<String, Checkpoint>>,
}

impl HeldIndex {
    /// Rows held before a checkpoint releases them (four per joined recording: VM, resource id,
    /// user, e-mail), a few MB.
    pub const MAX_ROWS: usize = 40_000;

    /// Queues `cp` as walk `key`'s checkpoint; releases when enough rows are held.
    ///
    /// # Errors
    /// `Retryable` when the rows or the checkpoints cannot be written.
    pub async fn save(
        &self,
        state: &AppState,
        key: &str,
        cp: &Checkpoint,
    ) -> Result<(), HandlerError> {
        self.saves
            .lock()
            .expect("held checkpoints")
            .insert(key.to_owned(), cp.clone());
        if self.rows.len() >= Self::MAX_ROWS {
            self.release(state).await?;
        }
        Ok(())
    }

    /// Writes the rows held, then the checkpoints that waited for them.
    ///
    /// # Errors
    /// `Retryable` when the rows or the checkpoints cannot be written. The checkpoints waiting are
    /// then dropped, never saved later: the next run resumes before their items.
    pub async fn release(&self, state: &AppState) -> Result<(), HandlerError> {
        let saves = std::mem::take(&mut *self.saves.lock().expect("held checkpoints"));
        self.rows.flush(state.ports.tables.as_ref()).await?;
        let repo = BackfillRepo::new(state.ports.tables.clone());
        let now = state.ports.clock.now();
        for (key, cp) in saves {
            repo.save(&key, &cp, now).await?;
        }
        Ok(())
    }
}
