//! The tick's second stage, read: one ranged read at a cursor's offset ([`range`]) and its
//! complete lines parsed and folded into a [`Batch`] ([`parse()`]); nothing is written here.
//!
//! Bytes after the last newline wait for it, unless they are one complete JSON object (an append
//! block is written whole), the blob is a block blob, or the cursor retires: then nothing more
//! will come. A line still without a newline after `AUDIT_MAX_LINE_BYTES` is corrupt and skipped
//! to the next newline (`SkipToNewline`), so it cannot stall the blob.

use bytes::Bytes;

use super::batch::Batch;
use crate::audit_logs::parse::{self, LineError};
use crate::audit_logs::repo::Cursor;
use crate::audit_logs::{error::Error, settings::AuditSettings};
use crate::azure::AzureError;
use crate::storage::{BlobKind, BlobRef, BlobStore};

/// Bytes of a corrupt or over-long line kept in quarantine.
pub const QUARANTINE_SAMPLE: usize = 64 * 1024;

/// What one ranged read found.
#[derive(Debug)]
pub enum Range {
    /// Bytes from the offset; `at_end` when fewer came than asked (the blob's current end).
    Read {
        /// The bytes.
        data: Bytes,
        /// The read reached the blob's current end.
        at_end: bool,
    },
    /// Nothing past the offset.
    End,
    /// The blob is gone.
    Gone,
}

/// Reads up to `len` bytes of `blob` from `offset`.
///
/// # Errors
/// [`Error::Port`] on a storage fault.
pub async fn range(
    store: &dyn BlobStore,
    blob: &BlobRef,
    offset: u64,
    len: u64,
) -> Result<Range, Error> {
    match store.read_range(blob, offset, len).await {
        Ok(data) => {
            let at_end = (data.len() as u64) < len;
            Ok(Range::Read { data, at_end })
        }
        Err(AzureError::RangeNotSatisfiable) => Ok(Range::End),
        Err(AzureError::NotFound) => Ok(Range::Gone),
        Err(e) => Err(e.into()),
    }
}

/// One chunk parsed: where its records begin, what of it they consume, and the batch.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// Blob offset where parsing began (past the rest of an over-long line being skipped).
    pub base: u64,
    /// Bytes from `base` consumed (lines parsed, the last line taken or skipped).
    pub consumed: u64,
    /// An over-long line is being skipped: the next chunk starts by discarding up to a newline.
    pub skip_to_newline: bool,
    /// The records and corrupt lines; `None` when the whole chunk was skipped.
    pub batch: Option<Batch<'a>>,
}

/// Parses `data`, read at `c`'s offset, into a batch of records of `host` (the cursor's Bastion
/// host; the sessions borrow it). `(at_end, retiring)`: the read reached the blob's current end;
/// the cursor retires after it (the blob will not grow any more).
///
/// # Errors
/// [`Error::Port`] when asking whether the blob is a block blob fails.
pub async fn parse<'a>(
    store: &dyn BlobStore,
    blob: &BlobRef,
    c: &Cursor,
    data: &'a [u8],
    host: &'a str,
    (at_end, retiring): (bool, bool),
    settings: &AuditSettings,
) -> Result<Parsed<'a>, Error> {
    let mut body = data;
    let mut base = c.offset;
    if c.skip_to_newline {
        let Some(nl) = memchr::memchr(b'\n', body) else {
            let (base, consumed) = (base + body.len() as u64, 0);
            return Ok(Parsed {
                base,
                consumed,
                skip_to_newline: true,
                batch: None,
            });
        };
        base += nl as u64 + 1;
        body = &body[nl + 1..];
    }
    let mut batch = Batch::for_chunk(body.len());
    let mut corrupt = Vec::new();
    let window = settings.failed_login_bucket;
    let mut consumed = parse::parse_lines(
        body,
        base,
        &mut |offset, rec| batch.add_at(offset, &rec, line_at(body, offset - base), host, window),
        &mut |err, line| corrupt.push((err, line.to_vec())),
    );
    batch.corrupt = corrupt;
    let rest = &body[consumed..];
    let trimmed = parse::trim_line(rest);
    let max_line = settings.max_line_bytes;
    let offset = base + consumed as u64;
    let mut skip_to_newline = false;
    if at_end
        && !trimmed.is_empty()
        && (rest.len() as u64) <= max_line
        && (parse::is_complete_object(trimmed) || retiring || block(store, blob).await?)
    {
        match parse::parse_line(trimmed) {
            Ok(rec) => batch.add_at(offset, &rec, trimmed, host, window),
            Err(reason) => batch
                .corrupt
                .push((LineError { offset, reason }, trimmed.to_vec())),
        }
        consumed = body.len();
    } else if rest.len() as u64 > max_line {
        let reason = format!(
            "line longer than {max_line} bytes without a newline; skipped to the next newline"
        );
        let sample = rest[..rest.len().min(QUARANTINE_SAMPLE)].to_vec();
        batch.corrupt.push((LineError { offset, reason }, sample));
        skip_to_newline = true;
        consumed = body.len();
    }
    let consumed = consumed as u64;
    Ok(Parsed {
        base,
        consumed,
        skip_to_newline,
        batch: Some(batch),
    })
}

/// True for a block blob (complete when created); a vanished blob is not one.
async fn block(store: &dyn BlobStore, blob: &BlobRef) -> Result<bool, Error> {
    match store.properties(blob).await {
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
