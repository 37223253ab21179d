//! One listed blob through the functions' own code paths: a recording through `Reconcile`'s
//! [`Recordings::listed`](crate::recordings::Recordings::listed) (`RecordingCreated`'s `catalogue` + the join), a `PT1H.json` through
//! `AuditLogCreated`'s registration ([`created::cursor_of`]) and `AuditLogTail`'s [`Tailer::read_one`](crate::audit_logs::tail::Tailer::read_one) read to its end.

use serde_json::Value;
use time::OffsetDateTime;

use super::rows::{PageRows, key_of};
use super::{Kind, Walk};
use crate::audit_logs::created;
use crate::audit_logs::detect::failed;
use crate::audit_logs::join::Deadline;
use crate::audit_logs::path::parse_blob_path;
use crate::audit_logs::repo::CursorRepo;
use crate::audit_logs::tail::{TickReport, blob, hold};
use crate::catalogue::index;
use crate::catalogue::repo::CatalogueRepo;
use crate::invocation::HandlerError;
use crate::recordings::reconcile::Fate;
use crate::sources::Source;
use crate::state::AppState;
use crate::storage::BlobItem;

/// What happened to one item.
#[derive(Debug)]
pub enum Done {
    /// A recording catalogued now; its outputs (by binding).
    Catalogued(crate::invocation::Outputs),
    /// A recording already catalogued; how many missing index rows were written.
    Present(usize),
    /// A catalogued but unjoined recording, joined again.
    Rejoined,
    /// An audit blob tailed (its notifications come with the walk's next checkpoint).
    Tailed,
    /// An audit blob already tailed to its end.
    TailedBefore,
    /// Dry run: would be catalogued / tailed.
    Would,
    /// Not ours (not a `PT1H.json` path) or vanished meanwhile.
    Ignored,
}

/// The blob's time for the window: creation time of a recording, the hour of an audit blob.
pub fn time_of(kind: Kind, item: &BlobItem) -> Option<OffsetDateTime> {
    match kind {
        Kind::Recordings => item.props.created.or(item.props.last_modified),
        Kind::AuditLogs => parse_blob_path(&item.name).ok().map(|h| h.hour),
    }
}

/// Processes one item at `now`.
///
/// # Errors
/// `Retryable` for storage failures (the item is recorded as failed by the caller).
pub async fn process(
    state: &AppState,
    walk: Walk<'_>,
    item: &BlobItem,
    now: OffsetDateTime,
    dry_run: bool,
    rows: Option<&PageRows>,
) -> Result<Done, HandlerError> {
    match walk.kind {
        Kind::Recordings => recording(state, walk.source, item, now, dry_run, rows).await,
        Kind::AuditLogs => audit_blob(state, walk, item, now, dry_run).await,
    }
}

async fn recording(
    state: &AppState,
    source: &Source,
    item: &BlobItem,
    now: OffsetDateTime,
    dry_run: bool,
    rows: Option<&PageRows>,
) -> Result<Done, HandlerError> {
    let key = key_of(state, source, item, now);
    let repo = CatalogueRepo::new(state.ports.tables.clone());
    // The page's rows when read with it, else a point read.
    let read = match rows.and_then(|r| r.get(&key)) {
        Some(read) => read,
        None => repo.get(&key).await?,
    };
    if dry_run {
        return Ok(match read {
            Some(_) => Done::Present(0),
            None => Done::Would,
        });
    }
    let recordings = crate::state::recordings(state);
    let mut join = crate::state::joiner(state);
    join.deferred_index = rows.map(|r| r.index.clone());
    join.windows = rows.and_then(|r| r.windows.clone());
    let fate = recordings
        .listed_over(&join, source, item, now, read)
        .await?;
    Ok(match fate {
        Fate::Catalogued(outputs) => Done::Catalogued(outputs),
        Fate::Rejoined(_) => Done::Rejoined,
        Fate::Present(row) => {
            // Rows joined before the index existed: write their index rows (reads first, so a
            // repeated run writes nothing).
            let row = match row {
                Some(row) => Some(row),
                None => repo.get(&key).await?.map(|r| r.raw),
            };
            let indexed = match row {
                Some(row) => index::ensure(state.ports.tables.as_ref(), &row).await?,
                None => 0,
            };
            Done::Present(indexed)
        }
    })
}

async fn audit_blob(
    state: &AppState,
    walk: Walk<'_>,
    item: &BlobItem,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<Done, HandlerError> {
    let Ok(hour) = parse_blob_path(&item.name) else {
        return Ok(Done::Ignored);
    };
    let source = walk.source;
    if dry_run {
        let repo = CursorRepo::new(state.ports.tables.clone());
        let at = state.ports.sources.cursor_source(source);
        let done = repo.get(at, &item.name, hour.hour).await?;
        return Ok(match done {
            Some(c) if c.done => Done::TailedBefore,
            _ => Done::Would,
        });
    }
    let created = item.props.created.unwrap_or(now);
    let mut tail = crate::state::tailer(state);
    tail.hold = walk.hold.cloned();
    // Registered first: a cursor inserted now is not read at all, one found finished was tailed
    // before (its blob's tags, already right, are only read).
    let tags = item.props.tag_count;
    let Some(cursor) = created::cursor_of(&tail, source, &item.name, created, tags).await? else {
        return Ok(Done::Ignored);
    };
    if cursor.done {
        return Ok(Done::TailedBefore);
    }
    // No byte or time budget: a backfill reads each hour to its end (hours past the tail window
    // retire). Its records are written, and its sessions joined, at the walk's next checkpoint
    // ([`settle_hours`]).
    let (never, mut unbounded) = (Deadline::never(state.ports.clock.clone()), u64::MAX);
    let read = blob::tail_blob(&tail, &cursor, now, &mut unbounded, &never).await?;
    if read.contended {
        // Claimed by another reader, or by a run stopped before it wrote what it held: failed
        // (retried by the next run), never counted as read.
        return Err(HandlerError::storage(anyhow::anyhow!(
            "{} is claimed by another reader until its lease ends; retried by the next run",
            item.name
        )));
    }
    Ok(Done::Tailed)
}

/// What the audit-log hours tailed since the last call left to do, run before each checkpoint of
/// their walk (nothing for other walks): their records written (folded together, so a session
/// several hours share is merged once) and their cursors saved, then the session side of the join
/// and the failed-login checks (their digests go to `emit`). Sessions wait durably (marked
/// pending, partitions to check), so a run stopped after the write leaves them to the next run or
/// tail tick; one stopped before it left the cursors where they were.
///
/// # Errors
/// `Retryable` when the records could not be written (the checkpoint must not pass them).
pub async fn settle_hours(
    state: &AppState,
    walk: Walk<'_>,
    emit: &mut dyn FnMut(&str, Value),
) -> Result<(), HandlerError> {
    let Some(held) = walk.hold else {
        return Ok(());
    };
    let mut tail = crate::state::tailer(state);
    let now = state.ports.clock.now();
    hold::flush(&tail, held, now).await?;
    // A first backfill has catalogued nothing yet: one query spares a `recordingkeys` read per session.
    tail.join.probe_keys = true;
    let never = Deadline::never(state.ports.clock.clone());
    tail.join(now, &never, &mut TickReport::default()).await;
    let bursts = failed::run_pending(
        &state.ports.tables,
        &state.ports.sources,
        state.audit.failed_login_threshold,
        state.audit.failed_login_window,
    )
    .await;
    for n in bursts {
        emit(crate::notify::OUTPUT_BINDING, n.to_output());
    }
    Ok(())
}
