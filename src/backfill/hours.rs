//! A page's audit-log hours read together, [`HOURS_UNWRITTEN`] at a time in listing order (one host's
//! consecutive hours): each hour registered and read to its end as `AuditLogTail` reads it, its
//! records folded per session with the other hours' instead of written, then every session written
//! once through the one session writer, then each hour's cursor saved. A session whose records
//! span two hours costs one conditional write, not a write and a merge.
//!
//! A failed or refused write fails every hour of the group (their cursors stay unsaved, so the next
//! run reads them again; writing a session's records again changes nothing).

use futures::StreamExt as _;
use time::OffsetDateTime;

use super::items::{Done, contended, registered};
use super::walk::Walk;
use crate::audit_logs::tail::Tailer;
use crate::audit_logs::tail::batch::Batch;
use crate::audit_logs::tail::blob::{self, Unwritten};
use crate::audit_logs::tail::keep;
use crate::clock::Budget;
use crate::invocation::Failure;
use crate::state::AppState;
use crate::storage::BlobItem;

/// Hours whose sessions wait unwritten at once: a day of one host's logs. Memory holds their folded
/// sessions (each with at most one raw line), not the hours' bytes.
pub(super) const HOURS_UNWRITTEN: usize = 24;

/// One hour after its read.
enum Read {
    /// Read to its end, its records read, not yet written.
    Unwritten(Box<(Unwritten, Batch<'static>)>),
    /// Nothing to read.
    Done(Done),
}

/// Processes `items`, audit-log hour blobs of one listing page in listing order, at most
/// `concurrency` read at once; returns each item's name and result, in order.
pub(super) async fn group(
    state: &AppState,
    walk: Walk<'_>,
    items: Vec<BlobItem>,
    now: OffsetDateTime,
    concurrency: usize,
) -> Vec<(String, Result<Done, Failure>)> {
    let tail = crate::state::tailer(state);
    let reads: Vec<Result<Read, Failure>> = futures::stream::iter(&items)
        .map(|item| read(&tail, walk, item, now))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut all = Batch::default();
    let mut unwritten = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, r) in reads.into_iter().enumerate() {
        out.push(match r {
            Ok(Read::Unwritten(read)) => {
                let (h, records) = *read;
                all.absorb(records);
                unwritten.push((i, h));
                Ok(Done::Tailed)
            }
            Ok(Read::Done(done)) => Ok(done),
            Err(e) => Err(e),
        });
    }
    if !unwritten.is_empty() {
        // No time budget: never cut, so every unwritten record is written before any cursor moves.
        let never = Budget::unlimited(state.ports.clock.clone());
        if let Err(e) = keep::rows(&tail, all, now, &never).await {
            let text = e.to_string();
            for (i, _) in unwritten.drain(..) {
                out[i] = Err(Failure::storage(anyhow::anyhow!(
                    "writing the sessions of its hours failed: {text}"
                )));
            }
        }
        let saved: Vec<Result<(), Failure>> = futures::stream::iter(&unwritten)
            .map(|(_, h)| async { Ok(h.save(&tail).await?) })
            .buffered(concurrency.max(1))
            .collect()
            .await;
        for ((i, _), s) in unwritten.iter().zip(saved) {
            if let Err(e) = s {
                out[*i] = Err(e);
            }
        }
    }
    items.into_iter().map(|i| i.name).zip(out).collect()
}

/// Registers one hour and reads it to its end, its records read, not yet written.
async fn read(
    tail: &Tailer,
    walk: Walk<'_>,
    item: &BlobItem,
    now: OffsetDateTime,
) -> Result<Read, Failure> {
    let cursor = match registered(tail, walk, item, now).await? {
        Ok(cursor) => cursor,
        Err(done) => return Ok(Read::Done(done)),
    };
    let mut records = Batch::default();
    match blob::read_unwritten(tail, (walk.source, &cursor), now, &mut records).await? {
        Some(h) => Ok(Read::Unwritten(Box::new((h, records)))),
        None => Err(contended(item)),
    }
}
