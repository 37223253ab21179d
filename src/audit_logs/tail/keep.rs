//! The tick's third stage, keep: the one write path of what a read found. A parsed chunk's corrupt
//! lines are quarantined, its folded sessions written through the catalogue's session writer (each
//! day row first, so a crash in between re-reads the chunk and never loses a pending join), its
//! failed logins counted, and the cursor advanced past what was written ([`chunk`]); the cursor is
//! saved only while its claim lasts ([`save`]), and growth left unread is marked ([`mark`]).

use futures::StreamExt as _;
use time::OffsetDateTime;
use tracing::warn;

use super::batch::{Batch, Folded};
use super::read::{Parsed, QUARANTINE_SAMPLE};
use super::tailer::Tailer;
use crate::audit_logs::detect::failed;
use crate::audit_logs::parse::LineError;
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::audit_logs::{error::Error, function_names::TAIL_FUNCTION};
use crate::azure::AzureError;
use crate::catalogue::session;
use crate::clock::Budget;
use crate::storage::BlobRef;
use crate::telemetry::redact;

/// Sessions written at once; the time budget is checked between such groups.
const SESSIONS_IN_FLIGHT: usize = 8;
/// `GrownAt` marks written at once.
const MARKS_IN_FLIGHT: usize = 8;

/// What keeping one chunk did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Kept {
    /// Records written (or folded into the caller's batch).
    pub records: u64,
    /// Corrupt lines quarantined.
    pub corrupt: u64,
    /// Session rows changed.
    pub sessions: usize,
    /// The time budget cut the write: the offset stops where the records written end.
    pub cut: bool,
    /// The offset moved.
    pub advanced: bool,
}

/// Keeps chunk `parsed` of `blob`, read at `c.offset`, and advances `c` past what was written.
/// With `unwritten`, its records are folded into `unwritten` instead (the caller writes them, and
/// saves `c`, once with other blobs').
///
/// # Errors
/// [`Error::Port`] when the quarantine or the tables fail.
pub async fn chunk(
    tail: &Tailer,
    c: &mut Cursor,
    parsed: Parsed<'_>,
    blob: &BlobRef,
    (now, time): (OffsetDateTime, &Budget),
    unwritten: Option<&mut Batch<'static>>,
) -> Result<Kept, Error> {
    let start = c.offset;
    c.offset = parsed.base;
    c.skip_to_newline = parsed.skip_to_newline;
    let Some(mut batch) = parsed.batch else {
        let advanced = c.offset > start;
        return Ok(Kept {
            advanced,
            ..Kept::default()
        });
    };
    quarantine(tail, c, blob, &batch.corrupt).await?;
    let bad: Vec<u64> = batch.corrupt.iter().map(|(e, _)| e.offset).collect();
    let (records, offsets) = (batch.records, std::mem::take(&mut batch.offsets));
    let (sessions, cut) = match unwritten {
        Some(unwritten) => {
            unwritten.absorb(batch);
            (0, None)
        }
        None => rows(tail, batch, now, time).await?,
    };
    let (records, corrupt) = match cut {
        // Only the records before the cut were written: the next tick reads from there.
        Some(end) => {
            c.offset = end;
            c.skip_to_newline = false;
            let written = offsets.partition_point(|o| *o < end) as u64;
            (written, bad.iter().filter(|o| **o < end).count() as u64)
        }
        None => {
            c.offset += parsed.consumed;
            (records, bad.len() as u64)
        }
    };
    c.records += records;
    c.corrupt += corrupt;
    let (cut, advanced) = (cut.is_some(), c.offset > start);
    Ok(Kept {
        records,
        corrupt,
        sessions,
        cut,
        advanced,
    })
}

/// Saves `c` while its claim lasts (`until`, on the tail's clock: the timer's `now` may differ).
///
/// # Errors
/// [`Error::Interrupted`] when the claim ran out; [`Error::Port`] when the table fails.
pub async fn save(tail: &Tailer, until: OffsetDateTime, c: &Cursor) -> Result<Cursor, Error> {
    if tail.ports.clock.now() >= until {
        return Err(Error::Interrupted(format!(
            "the claim on {} ran out before its progress was saved; the next tick repeats it",
            c.blob
        )));
    }
    Ok(CursorRepo::new(tail.ports.tables.clone()).save(c).await?)
}

/// Writes a batch's sessions and failed logins: the rows changed, and where the records written
/// end when `time` ran out (it stops after the sessions in hand, at least one group, so every
/// call progresses).
///
/// # Errors
/// [`Error::Port`] when the tables fail.
pub async fn rows(
    tail: &Tailer,
    batch: Batch<'_>,
    now: OffsetDateTime,
    time: &Budget,
) -> Result<(usize, Option<u64>), Error> {
    let (mut sessions, mut cut) = (0, None);
    let mut rest = batch.folded();
    let mut first = true;
    while let Some(next) = rest.first() {
        if !first && time.passed() {
            cut = Some(next.first_offset);
            break;
        }
        // A few distinct rows at a time; the first alone, as it creates the tables.
        let group = if first { 1 } else { SESSIONS_IN_FLIGHT };
        first = false;
        let (now_in, later) = rest.split_at(rest.len().min(group));
        let changed =
            futures::future::try_join_all(now_in.iter().map(|f| upsert(tail, f, now))).await?;
        sessions += changed.into_iter().filter(|c| *c).count();
        rest = later;
    }
    let end = cut.unwrap_or(u64::MAX);
    // The failed logins written, their burst checks marked, before the chunk's offset is saved:
    // a crash from here on re-reads the chunk.
    let attempts: Vec<_> = (batch.failed.iter())
        .filter_map(|(at, f)| (*at < end).then_some(f))
        .collect();
    failed::store(tail.ports.tables.as_ref(), &attempts).await?;
    Ok((sessions, cut))
}

/// Merges one folded session into its stored row; `false` when nothing changed.
async fn upsert(tail: &Tailer, folded: &Folded<'_>, now: OffsetDateTime) -> Result<bool, Error> {
    let raw = (folded.raw.as_ref()).map(|(_, l)| String::from_utf8_lossy(l).into_owned());
    let affected = &*tail.affected;
    let (tables, outbox) = (tail.ports.tables.as_ref(), &tail.ports.outbox);
    let part = &folded.session;
    Ok(session::write::upsert(tables, outbox, part, raw.as_deref(), now, affected).await?)
}

/// Quarantines corrupt lines (item = blob offset, so re-reads overwrite the same evidence).
async fn quarantine(
    tail: &Tailer,
    c: &Cursor,
    blob: &BlobRef,
    corrupt: &[(LineError, Vec<u8>)],
) -> Result<(), Error> {
    for (err, line) in corrupt {
        warn!(blob = %blob, offset = err.offset, reason = %err.reason, "corrupt audit line quarantined and skipped");
        let item = format!("offset-{}", err.offset);
        let sample = &line[..line.len().min(QUARANTINE_SAMPLE)];
        let why = format!("{blob}: {}", err.reason);
        (tail.quarantine)
            .put(TAIL_FUNCTION, &c.rk(), Some(&item), &why, sample)
            .await?;
    }
    Ok(())
}

/// Saves `marked`, cursors whose growth is left unread (their `GrownAt` set), `If-Match` each as
/// read; a failed mark is logged (the next listing finds the growth again).
pub async fn mark(tail: &Tailer, marked: Vec<Cursor>) {
    let repo = &CursorRepo::new(tail.ports.tables.clone());
    let writes = futures::stream::iter(marked)
        .map(|c| async move { (repo.save(&c).await, c.blob) })
        .buffer_unordered(MARKS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    for (r, blob) in writes {
        if let Err(e) = r
            && !matches!(e, AzureError::PreconditionFailed | AzureError::NotFound)
        {
            warn!(blob = %blob, error.cause_chain = %redact(&e.to_string()), "marking unread growth failed; the next listing finds it again");
        }
    }
}
