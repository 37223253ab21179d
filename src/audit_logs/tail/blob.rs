//! Tailing one `PT1H.json`: claim the cursor, ranged reads from its offset, complete lines only,
//! flush sessions per chunk and advance the offset with ETag-conditional writes.
//!
//! Over-long lines: a line still without a newline after `AUDIT_MAX_LINE_BYTES` is not a record
//! Azure Monitor writes; rather than stall the blob forever, its first bytes are quarantined (with
//! the offset), the cursor skips to the next newline (`SkipToNewline`) and continues. At retirement
//! (`AUDIT_TAIL_WINDOW_HOURS` after the hour) a trailing line without newline is parsed as final.

use bytes::Bytes;
use time::{Duration, OffsetDateTime};
use tracing::warn;

use super::batch::{self, Batch, Flushed};
use crate::audit_logs::TAIL_FUNCTION;
use crate::audit_logs::parse::{self, LineError};
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::invocation::HandlerError;
use crate::state::AppState;
use crate::storage::{BlobRef, StorageError};
use crate::tables::TableError;

/// How long a claim keeps other instances away from a blob (longer than any tick).
const LEASE: Duration = Duration::minutes(5);
/// Bytes of a corrupt or over-long line kept in quarantine.
const QUARANTINE_SAMPLE: usize = 64 * 1024;
/// A legacy document larger than this is not read (block blobs from before 2018; never seen).
const LEGACY_MAX: u64 = 256 << 20;

/// What tailing one blob did.
#[derive(Debug, Default)]
pub struct BlobReport {
    /// Bytes read.
    pub bytes: u64,
    /// Records parsed.
    pub records: u64,
    /// Corrupt lines quarantined.
    pub corrupt: u64,
    /// Flush results.
    pub flushed: Flushed,
    /// Skipped because another instance holds it.
    pub contended: bool,
}

/// Claims `cursor`; `None` when another instance holds or just took it.
///
/// # Errors
/// Table errors other than a lost race.
pub async fn claim(
    repo: &CursorRepo,
    cursor: &Cursor,
    now: OffsetDateTime,
) -> Result<Option<Cursor>, TableError> {
    if cursor.lease_until.is_some_and(|l| l > now) {
        return Ok(None);
    }
    let claimed = Cursor {
        lease_until: Some(now + LEASE),
        last_read_at: Some(now),
        ..cursor.clone()
    };
    match repo.save(&claimed).await {
        Ok(c) => Ok(Some(c)),
        Err(TableError::PreconditionFailed | TableError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Tails one blob within `budget` bytes (decremented).
///
/// # Errors
/// `Retryable` on storage failures; the cursor keeps its last saved offset.
pub async fn tail_blob(
    state: &AppState,
    cursor: &Cursor,
    now: OffsetDateTime,
    budget: &mut u64,
) -> Result<BlobReport, HandlerError> {
    let repo = CursorRepo::new(state.tables.clone());
    let mut report = BlobReport::default();
    let Some(mut c) = claim(&repo, cursor, now).await? else {
        report.contended = true;
        return Ok(report);
    };
    let blob = BlobRef::new(
        state.sources.default_audit_logs().container.clone(),
        c.blob.clone(),
    );
    let retiring = c.expired(now, state.audit.tail_window);
    let max_line = state.audit.max_line_bytes;
    // Retire only once everything was read: a budget cut must not drop the rest of the blob.
    let mut reached_end = false;
    loop {
        let len = state.audit.tail_chunk_bytes.max(max_line + 1);
        if *budget == 0 {
            break;
        }
        let data = match state
            .sources
            .default_audit_logs()
            .store
            .read_range(&blob, c.offset, len)
            .await
        {
            Err(StorageError::RangeNotSatisfiable) => {
                reached_end = true;
                break;
            }
            Err(StorageError::NotFound) => {
                warn!(blob = %blob, "audit blob vanished; retiring its cursor");
                c.done = true;
                break;
            }
            other => other?,
        };
        *budget = budget.saturating_sub(data.len() as u64);
        report.bytes += data.len() as u64;
        if c.offset == 0 && parse::is_legacy_document(&data) {
            legacy(state, &mut c, &blob, now, &mut report).await?;
            reached_end = true;
            break;
        }
        let at_end = (data.len() as u64) < len;
        let advanced = process_chunk(
            state,
            &mut c,
            &blob,
            data,
            at_end && retiring,
            now,
            &mut report,
        )
        .await?;
        c = repo.save(&c).await?;
        reached_end = at_end;
        if at_end || !advanced {
            break;
        }
    }
    c.done = c.done || (retiring && reached_end);
    c.lease_until = None;
    repo.save(&c).await?;
    Ok(report)
}

/// Processes one chunk read at `c.offset`; advances `c`. Returns whether the offset moved.
async fn process_chunk(
    state: &AppState,
    c: &mut Cursor,
    blob: &BlobRef,
    data: Bytes,
    final_read: bool,
    now: OffsetDateTime,
    report: &mut BlobReport,
) -> Result<bool, HandlerError> {
    let start = c.offset;
    let mut body: &[u8] = &data;
    if c.skip_to_newline {
        let Some(nl) = memchr::memchr(b'\n', body) else {
            c.offset += body.len() as u64;
            return Ok(!body.is_empty());
        };
        c.offset += nl as u64 + 1;
        body = &body[nl + 1..];
        c.skip_to_newline = false;
    }
    // Declared before the batch: its sessions borrow the host name.
    let (host, base) = (c.bastion_host.clone(), c.offset);
    let mut batch = Batch::for_chunk(body.len());
    let mut corrupt = Vec::new();
    let window = state.audit.failed_login_window;
    let mut consumed = parse::parse_lines(
        body,
        base,
        &mut |offset, rec| batch.add(&rec, line_at(body, offset - base), &host, window),
        &mut |err, line| corrupt.push((err, line.to_vec())),
    );
    batch.corrupt = corrupt;
    let rest = &body[consumed..];
    let trimmed = parse::trim_line(rest);
    if final_read && !trimmed.is_empty() && (rest.len() as u64) <= state.audit.max_line_bytes {
        // Retiring: the blob will not grow any more, so a last line without newline is final.
        let offset = c.offset + consumed as u64;
        if let Err(reason) =
            parse::parse_line(trimmed, &mut |rec| batch.add(&rec, trimmed, &host, window))
        {
            batch
                .corrupt
                .push((LineError { offset, reason }, trimmed.to_vec()));
        }
        consumed = body.len();
    } else if rest.len() as u64 > state.audit.max_line_bytes {
        let offset = c.offset + consumed as u64;
        let reason = format!(
            "line longer than {} bytes without a newline; skipped to the next newline",
            state.audit.max_line_bytes
        );
        batch.corrupt.push((
            LineError { offset, reason },
            rest[..rest.len().min(QUARANTINE_SAMPLE)].to_vec(),
        ));
        c.skip_to_newline = true;
        consumed = body.len();
    }
    quarantine(state, c, blob, &batch.corrupt).await?;
    report.records += batch.records;
    report.corrupt += batch.corrupt.len() as u64;
    c.records += batch.records;
    c.corrupt += batch.corrupt.len() as u64;
    let flushed = batch::flush(state, batch, now).await?;
    merge_flushed(&mut report.flushed, flushed);
    c.offset += consumed as u64;
    Ok(c.offset > start)
}

/// The raw line starting at `rel` in `body` (without its newline).
fn line_at(body: &[u8], rel: u64) -> &[u8] {
    let rel = usize::try_from(rel).unwrap_or(body.len()).min(body.len());
    let rest = &body[rel..];
    &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())]
}

fn merge_flushed(into: &mut Flushed, f: Flushed) {
    into.sessions += f.sessions;
    into.joined += f.joined;
    into.failed_partitions.extend(f.failed_partitions);
}

/// Quarantines corrupt lines (item = blob offset, so re-reads overwrite the same evidence).
async fn quarantine(
    state: &AppState,
    c: &Cursor,
    blob: &BlobRef,
    corrupt: &[(LineError, Vec<u8>)],
) -> Result<(), HandlerError> {
    for (err, line) in corrupt {
        warn!(blob = %blob, offset = err.offset, reason = %err.reason, "corrupt audit line quarantined and skipped");
        let item = format!("offset-{}", err.offset);
        let sample = &line[..line.len().min(QUARANTINE_SAMPLE)];
        state
            .quarantine
            .put(
                TAIL_FUNCTION,
                &c.rk(),
                Some(&item),
                &format!("{blob}: {}", err.reason),
                sample,
            )
            .await?;
    }
    Ok(())
}

/// A whole legacy `{"records":[…]}` document: read once, streamed record by record, then retired.
async fn legacy(
    state: &AppState,
    c: &mut Cursor,
    blob: &BlobRef,
    now: OffsetDateTime,
    report: &mut BlobReport,
) -> Result<(), HandlerError> {
    let props = state
        .sources
        .default_audit_logs()
        .store
        .properties(blob)
        .await?;
    c.legacy = true;
    c.done = true;
    if props.content_length > LEGACY_MAX {
        let reason = format!(
            "legacy document of {} bytes exceeds {LEGACY_MAX}; not read",
            props.content_length
        );
        quarantine(
            state,
            c,
            blob,
            &[(LineError { offset: 0, reason }, Vec::new())],
        )
        .await?;
        return Ok(());
    }
    let doc = state
        .sources
        .default_audit_logs()
        .store
        .read_range(blob, 0, props.content_length.max(1))
        .await?;
    let (host, window) = (c.bastion_host.clone(), state.audit.failed_login_window);
    let mut batch = Batch::for_chunk(doc.len());
    if let Err(reason) =
        parse::for_each_in_document(&doc, &mut |rec| batch.add(&rec, b"", &host, window))
    {
        batch.corrupt.push((
            LineError { offset: 0, reason },
            doc[..doc.len().min(QUARANTINE_SAMPLE)].to_vec(),
        ));
    }
    quarantine(state, c, blob, &batch.corrupt).await?;
    report.records += batch.records;
    c.records += batch.records;
    c.offset = doc.len() as u64;
    merge_flushed(&mut report.flushed, batch::flush(state, batch, now).await?);
    Ok(())
}
