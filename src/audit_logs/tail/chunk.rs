//! One chunk read at the cursor's offset: complete lines parsed, folded and flushed, the cursor
//! advanced past what was written.
//!
//! Bytes after the last newline wait for it, unless they are one complete JSON object (an append
//! block is written whole), the blob is a block blob, or the cursor retires: then nothing more
//! will come. A line still without a newline after `AUDIT_MAX_LINE_BYTES` is quarantined and
//! skipped to the next newline (`SkipToNewline`), so it cannot stall the blob.

use bytes::Bytes;
use time::OffsetDateTime;
use tracing::warn;

use super::Tailer;
use super::batch::{self, Batch, Flushed};
use crate::audit_logs::TAIL_FUNCTION;
use crate::audit_logs::parse::{self, LineError};
use crate::audit_logs::repo::Cursor;
use crate::azure::AzureError;
use crate::clock::Budget;
use crate::ports::Failure;
use crate::storage::{BlobKind, BlobRef};

/// What tailing one blob did, summed over its chunks.
#[derive(Debug, Default)]
pub struct BlobReport {
    /// Bytes read.
    pub bytes: u64,
    /// Records parsed (and written).
    pub records: u64,
    /// Corrupt lines quarantined.
    pub corrupt: u64,
    /// Flush results.
    pub flushed: Flushed,
    /// Skipped because another instance holds it.
    pub contended: bool,
}

/// Bytes of a corrupt or over-long line kept in quarantine.
pub(super) const QUARANTINE_SAMPLE: usize = 64 * 1024;

/// Where a chunk comes from and what the tick allows.
pub(super) struct Step<'a> {
    /// The blob.
    pub blob: &'a BlobRef,
    /// The read reached the blob's current end.
    pub at_end: bool,
    /// The cursor retires after this read: the blob will not grow any more.
    pub retiring: bool,
    /// The tick's time budget.
    pub now: OffsetDateTime,
    /// When writing must stop.
    pub time: &'a Budget,
}

/// What processing a chunk did to the cursor.
#[derive(Debug, Clone, Copy)]
pub(super) struct Done {
    /// The offset moved.
    pub advanced: bool,
    /// The time budget cut the flush: the offset stops where the records written end.
    pub cut: bool,
}

/// Processes one chunk read at `c.offset`; advances `c`. With `unwritten`, its records are folded into
/// `unwritten` instead of written (the caller writes them, and saves `c`, once with other blobs').
pub(super) async fn process(
    tail: &Tailer,
    c: &mut Cursor,
    data: Bytes,
    step: &Step<'_>,
    report: &mut BlobReport,
    unwritten: Option<&mut Batch<'static>>,
) -> Result<Done, Failure> {
    let start = c.offset;
    let mut body: &[u8] = &data;
    if c.skip_to_newline {
        let Some(nl) = memchr::memchr(b'\n', body) else {
            c.offset += body.len() as u64;
            let advanced = !body.is_empty();
            return Ok(Done {
                advanced,
                cut: false,
            });
        };
        c.offset += nl as u64 + 1;
        body = &body[nl + 1..];
        c.skip_to_newline = false;
    }
    // Declared before the batch: its sessions borrow the host name.
    let (host, base) = (c.bastion_host.clone(), c.offset);
    let mut batch = Batch::for_chunk(body.len());
    let mut corrupt = Vec::new();
    let window = tail.settings.failed_login_bucket;
    let mut consumed = parse::parse_lines(
        body,
        base,
        &mut |offset, rec| batch.add_at(offset, &rec, line_at(body, offset - base), &host, window),
        &mut |err, line| corrupt.push((err, line.to_vec())),
    );
    batch.corrupt = corrupt;
    let rest = &body[consumed..];
    let trimmed = parse::trim_line(rest);
    let max_line = tail.settings.max_line_bytes;
    let offset = base + consumed as u64;
    if step.at_end
        && !trimmed.is_empty()
        && (rest.len() as u64) <= max_line
        && (parse::is_complete_object(trimmed) || step.retiring || block(tail, step.blob).await?)
    {
        if let Err(reason) = parse::parse_line(trimmed, &mut |rec| {
            batch.add_at(offset, &rec, trimmed, &host, window);
        }) {
            let e = LineError { offset, reason };
            batch.corrupt.push((e, trimmed.to_vec()));
        }
        consumed = body.len();
    } else if rest.len() as u64 > max_line {
        let reason = format!(
            "line longer than {max_line} bytes without a newline; skipped to the next newline"
        );
        let sample = rest[..rest.len().min(QUARANTINE_SAMPLE)].to_vec();
        batch.corrupt.push((LineError { offset, reason }, sample));
        c.skip_to_newline = true;
        consumed = body.len();
    }
    quarantine(tail, c, step.blob, &batch.corrupt).await?;
    let records = batch.records;
    let bad: Vec<u64> = batch.corrupt.iter().map(|(e, _)| e.offset).collect();
    let offsets = std::mem::take(&mut batch.offsets);
    let flushed = match unwritten {
        Some(unwritten) => {
            unwritten.absorb(batch);
            Flushed::default()
        }
        None => batch::flush(tail, batch, step.now, step.time).await?,
    };
    let cut = flushed.cut;
    merge_flushed(&mut report.flushed, flushed);
    let (records, corrupt_n) = match cut {
        // Only the records before the cut were written: the next tick reads from there.
        Some(end) => {
            c.offset = end;
            c.skip_to_newline = false;
            let written = offsets.partition_point(|o| *o < end) as u64;
            (written, bad.iter().filter(|o| **o < end).count() as u64)
        }
        None => {
            c.offset += consumed as u64;
            (records, bad.len() as u64)
        }
    };
    report.records += records;
    report.corrupt += corrupt_n;
    c.records += records;
    c.corrupt += corrupt_n;
    Ok(Done {
        advanced: c.offset > start,
        cut: cut.is_some(),
    })
}

/// True for a block blob (complete when created); a vanished blob is not one.
async fn block(tail: &Tailer, blob: &BlobRef) -> Result<bool, Failure> {
    match tail.logs.properties(blob).await {
        Ok(p) => Ok(p.kind == Some(BlobKind::Block)),
        Err(AzureError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The raw line starting at `rel` in `body` (without its newline).
fn line_at(body: &[u8], rel: u64) -> &[u8] {
    let rel = usize::try_from(rel).unwrap_or(body.len()).min(body.len());
    let rest = &body[rel..];
    &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())]
}

/// Adds a flush's results to a blob's.
pub(super) fn merge_flushed(into: &mut Flushed, f: Flushed) {
    into.sessions += f.sessions;
    into.failed_partitions.extend(f.failed_partitions);
    into.cut = into.cut.or(f.cut);
}

/// Quarantines corrupt lines (item = blob offset, so re-reads overwrite the same evidence).
pub(super) async fn quarantine(
    tail: &Tailer,
    c: &Cursor,
    blob: &BlobRef,
    corrupt: &[(LineError, Vec<u8>)],
) -> Result<(), Failure> {
    for (err, line) in corrupt {
        warn!(blob = %blob, offset = err.offset, reason = %err.reason, "corrupt audit line quarantined and skipped");
        let item = format!("offset-{}", err.offset);
        let sample = &line[..line.len().min(QUARANTINE_SAMPLE)];
        tail.quarantine
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
