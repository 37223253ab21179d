//! Records of several audit-log blobs folded together before any table write (a backfill's hour
//! blobs between two checkpoints): a session whose records fall in consecutive hours is merged
//! into its rows once, not once per blob, as the workspace path folds a page. The blobs' cursors
//! wait with their records and are saved only after the records are written ([`flush`]), so no
//! cursor passes a record not yet stored; a run stopped before the flush left them where they
//! were.

use std::sync::Mutex;

use time::OffsetDateTime;
use tracing::warn;

use super::Tailer;
use super::batch::{self, Batch};
use crate::audit_logs::join::Deadline;
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::invocation::HandlerError;
use crate::tables::TableError;

/// Sessions held before they are written.
const HELD_SESSIONS: usize = 4096;
/// Bytes of raw lines (`LastRaw`, one per session) held before they are written.
const HELD_RAW: usize = 8 << 20;

/// What is read but not yet written.
#[derive(Debug, Default)]
pub struct Hold(Mutex<Held>);

#[derive(Debug, Default)]
struct Held {
    batch: Batch<'static>,
    cursors: Vec<Cursor>,
}

impl Hold {
    /// Folds a chunk's records in; `true` when what is held should now be written.
    pub(super) fn absorb(&self, batch: Batch<'_>) -> bool {
        let mut held = self.0.lock().expect("held records");
        held.batch.absorb(batch);
        held.batch.sessions() >= HELD_SESSIONS || held.batch.raw_bytes() >= HELD_RAW
    }

    /// Keeps a cursor's progress until its records are written (the latest state of each blob).
    pub(super) fn cursor(&self, c: Cursor) {
        let mut held = self.0.lock().expect("held records");
        held.cursors
            .retain(|k| k.rk() != c.rk() || k.pk() != c.pk());
        held.cursors.push(c);
    }
}

/// Writes what `hold` holds, then saves the cursors that waited for it (each conditional on the
/// version its reader claimed: one another reader moved meanwhile is left to that reader).
/// Returns the session rows changed.
///
/// # Errors
/// `Retryable` on storage failures; the cursors keep their previous offsets.
pub async fn flush(tail: &Tailer, hold: &Hold, now: OffsetDateTime) -> Result<usize, HandlerError> {
    let held = std::mem::take(&mut *hold.0.lock().expect("held records"));
    let never = Deadline::never(tail.ports.clock.clone());
    let flushed = batch::flush(tail, held.batch, now, &never).await?;
    let repo = CursorRepo::new(tail.ports.tables.clone());
    for c in held.cursors {
        match repo.save(&c).await {
            Ok(_) => {}
            Err(TableError::PreconditionFailed | TableError::NotFound) => {
                warn!(blob = %c.blob, "another reader moved this cursor meanwhile; its progress stands");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(flushed.sessions)
}
