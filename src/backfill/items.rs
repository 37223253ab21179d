//! One listed blob through the functions' own code paths: a recording through `Reconcile`'s
//! [`Recordings::listed`](crate::recordings::Recordings::listed) (`RecordingCreated`'s `catalogue`), a `PT1H.json` through
//! `AuditLogCreated`'s registration ([`crate::audit_logs::tail::register::cursor`]) and `AuditLogTail`'s [`crate::audit_logs::tail::blob::read`] read to its end.

use time::OffsetDateTime;

use super::rows::{PageRows, key_of};
use super::walk::{Kind, Walk};
use crate::audit_logs::path::parse_blob_path;
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::audit_logs::tail::{Tailer, blob, register};
use crate::clock::Budget;
use crate::invocation::{Failure, Outcome};
use crate::recordings::reconcile::Fate;
use crate::sources::Source;
use crate::state::AppState;
use crate::storage::BlobItem;

/// What happened to one item.
#[derive(Debug)]
pub enum Done {
    /// A recording catalogued now; its outputs (by binding).
    Catalogued(crate::invocation::Outputs),
    /// A recording already catalogued.
    Present,
    /// An audit blob tailed (its sessions are joined by the run's join pass).
    Tailed,
    /// An audit blob already tailed to its end.
    TailedBefore,
    /// Dry run: would be catalogued / tailed.
    Would,
    /// Not ours (not a `PT1H.json` path) or vanished meanwhile.
    Ignored,
}

/// The blob's time for the range: creation time of a recording, the hour of an audit blob.
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
) -> Result<Done, Failure> {
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
) -> Result<Done, Failure> {
    let read = rows.and_then(|r| r.get(&key_of(source, item, now)));
    if dry_run {
        let key = key_of(source, item, now);
        let read = match read {
            Some(read) => read,
            None => state.ports.catalogue().get(&key).await?,
        };
        return Ok(if read.is_some() {
            Done::Present
        } else {
            Done::Would
        });
    }
    let fate = crate::state::recordings(state)
        .listed(source, item, now, read)
        .await?;
    Ok(match fate {
        Fate::Catalogued(c) => match Outcome::from(c) {
            Outcome::Processed { outputs, .. } => Done::Catalogued(outputs),
            Outcome::Skipped { .. } => Done::Present,
        },
        Fate::Present => Done::Present,
    })
}

async fn audit_blob(
    state: &AppState,
    walk: Walk<'_>,
    item: &BlobItem,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<Done, Failure> {
    let Ok(hour) = parse_blob_path(&item.name) else {
        return Ok(Done::Ignored);
    };
    if dry_run {
        let repo = CursorRepo::new(state.ports.tables.clone());
        let at = state.ports.sources.cursor_source(walk.source);
        let done = repo.get(at, &item.name, hour.hour).await?;
        return Ok(match done {
            Some(c) if c.done => Done::TailedBefore,
            _ => Done::Would,
        });
    }
    let tail = crate::state::tailer(state);
    let cursor = match registered(&tail, walk, item, now).await? {
        Ok(cursor) => cursor,
        Err(done) => return Ok(done),
    };
    // No byte or time budget: a backfill reads each hour to its end (hours past the tail window
    // retire). Its sessions are written now and joined by the run's one join pass at its end.
    let never = Budget::unlimited(state.ports.clock.clone());
    let mut unbounded = blob::Allowance::UNLIMITED;
    let reading = (walk.source, &cursor);
    let read = blob::read(&tail, reading, now, &mut unbounded, &never, now).await?;
    if read.contended {
        return Err(contended(item));
    }
    Ok(Done::Tailed)
}

/// Registers an hour blob's cursor (`AuditLogCreated`'s path): the cursor to read, or what the
/// item is when there is nothing to read (not ours, vanished, tailed before). A cursor inserted
/// now is not read at all; one found finished was tailed before (its blob's tags, already right,
/// are only read).
///
/// # Errors
/// `Retryable` for storage failures.
pub(super) async fn registered(
    tail: &Tailer,
    walk: Walk<'_>,
    item: &BlobItem,
    now: OffsetDateTime,
) -> Result<Result<Cursor, Done>, Failure> {
    let created = item.props.created.unwrap_or(now);
    let tags = item.props.tag_count;
    let Some(cursor) = register::cursor(tail, walk.source, &item.name, created, tags).await? else {
        return Ok(Err(Done::Ignored));
    };
    if cursor.done {
        return Ok(Err(Done::TailedBefore));
    }
    Ok(Ok(cursor))
}

/// An hour claimed by another reader, or by a run stopped before it wrote what it held: failed
/// (retried by the next run), never counted as read.
pub(super) fn contended(item: &BlobItem) -> Failure {
    Failure::storage(anyhow::anyhow!(
        "{} is claimed by another reader until its lease ends; retried by the next run",
        item.name
    ))
}
