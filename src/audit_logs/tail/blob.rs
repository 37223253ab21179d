//! Tailing one `PT1H.json`: claim the cursor, ranged reads from its offset, each chunk flushed and
//! the offset advanced `If-Match` the claim's ETag. The claim lasts twice the tick's time budget
//! (at least 5 minutes) and a save is refused once it ran out, so a slower instance never
//! overwrites another's progress. A budget cut saves the offset where the written records end.
//! [`read_unwritten`] reads a blob whole and keeps its records for its caller to write with other
//! blobs' (the backfill), the cursor saved only after that write.
//!
//! One chunk read at the cursor's offset: complete lines parsed, folded and flushed, the cursor
//! advanced past what was written.
//!
//! Bytes after the last newline wait for it, unless they are one complete JSON object (an append
//! block is written whole), the blob is a block blob, or the cursor retires: then nothing more
//! will come. A line still without a newline after `AUDIT_MAX_LINE_BYTES` is quarantined and
//! skipped to the next newline (`SkipToNewline`), so it cannot stall the blob.

use bytes::Bytes;
use time::{Duration, OffsetDateTime};
use tracing::warn;

use super::Tailer;
use super::batch::{self, Batch, Flushed};
use crate::audit_logs::Error;
use crate::audit_logs::TAIL_FUNCTION;
use crate::audit_logs::parse::{self, LineError};
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::azure::AzureError;
use crate::clock::Budget;
use crate::storage::{BlobKind, BlobRef};

/// The shortest claim.
const MIN_LEASE: Duration = Duration::minutes(5);

/// What a tick may still read, all blobs together (`AUDIT_TAIL_MAX_BYTES`/`_RECORDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Bytes.
    pub bytes: u64,
    /// Records.
    pub records: u64,
}

impl Allowance {
    /// No bound (a backfill reads each hour to its end).
    pub const UNLIMITED: Self = Self {
        bytes: u64::MAX,
        records: u64::MAX,
    };

    /// Nothing more may be read.
    pub fn spent(&self) -> bool {
        self.bytes == 0 || self.records == 0
    }

    fn take(&mut self, bytes: u64, records: u64) {
        self.bytes = self.bytes.saturating_sub(bytes);
        self.records = self.records.saturating_sub(records);
    }
}

/// Claims `cursor`; `None` when another instance holds or just took it.
///
/// # Errors
/// Table errors other than a lost race.
pub async fn claim(
    repo: &CursorRepo,
    cursor: &Cursor,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<Option<Cursor>, AzureError> {
    if cursor.lease_until.is_some_and(|l| l > now) {
        return Ok(None);
    }
    let claimed = Cursor {
        lease_until: Some(now + lease),
        last_read_at: Some(now),
        ..cursor.clone()
    };
    match repo.save(&claimed).await {
        Ok(c) => Ok(Some(c)),
        Err(AzureError::PreconditionFailed | AzureError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves `c` while the claim lasts (`until`, on the tail's clock: the timer's `now` may differ).
async fn save(tail: &Tailer, until: OffsetDateTime, c: &Cursor) -> Result<Cursor, Error> {
    if tail.ports.clock.now() >= until {
        return Err(Error::Interrupted(format!(
            "the claim on {} ran out before its progress was saved; the next tick repeats it",
            c.blob
        )));
    }
    Ok(CursorRepo::new(tail.ports.tables.clone()).save(c).await?)
}

/// Tails one blob within `allowance` (decremented) until `time` runs out. `since`: when its
/// unread growth began, kept in `GrownAt` if this read stops before the end.
///
/// # Errors
/// [`Error`] on a storage fault, or when its claim ran out or its source is gone; the cursor keeps
/// its last saved offset.
pub async fn tail_blob(
    tail: &Tailer,
    cursor: &Cursor,
    now: OffsetDateTime,
    allowance: &mut Allowance,
    time: &Budget,
    since: OffsetDateTime,
) -> Result<BlobReport, Error> {
    let tail = &tail.for_cursor(cursor)?;
    let (report, read) = read(tail, cursor, now, allowance, time, since, None).await?;
    if let Some(read) = read {
        read.save(tail).await?;
    }
    Ok(report)
}

/// A blob read to its end whose records are read but not yet written: its cursor, advanced past
/// them, is saved ([`Unwritten::save`]) only once they are.
#[derive(Debug)]
pub struct Unwritten {
    cursor: Cursor,
    until: OffsetDateTime,
}

impl Unwritten {
    /// Saves the cursor, while the claim lasts.
    ///
    /// # Errors
    /// [`Error::Interrupted`] when the claim ran out, [`Error::Port`] when the table fails (the
    /// next reader repeats the blob: session writes merge, so writing its records again changes
    /// nothing).
    pub async fn save(&self, tail: &Tailer) -> Result<(), Error> {
        save(tail, self.until, &self.cursor).await.map(drop)
    }
}

/// Claims and reads one blob to its end (no allowance, no time budget), folding its records into
/// `into` instead of writing them, so the sessions of several hours cost one write each (the
/// backfill's). `None` when another reader holds the cursor.
///
/// # Errors
/// [`Error`] on a storage fault, or when its source is gone (nothing of the blob is saved).
pub async fn read_unwritten(
    tail: &Tailer,
    cursor: &Cursor,
    now: OffsetDateTime,
    into: &mut Batch<'static>,
) -> Result<Option<Unwritten>, Error> {
    let tail = &tail.for_cursor(cursor)?;
    let never = Budget::unlimited(tail.ports.clock.clone());
    let mut all = Allowance::UNLIMITED;
    let (_, unwritten) = read(tail, cursor, now, &mut all, &never, now, Some(into)).await?;
    Ok(unwritten)
}

/// Claims `cursor` and reads from its offset; returns the report and the cursor to save (`None`
/// when contended). Without `unwritten` each chunk is written and progress saved between chunks; with
/// it, the records are folded into `unwritten` and nothing is saved.
async fn read(
    tail: &Tailer,
    cursor: &Cursor,
    now: OffsetDateTime,
    allowance: &mut Allowance,
    time: &Budget,
    since: OffsetDateTime,
    mut unwritten: Option<&mut Batch<'static>>,
) -> Result<(BlobReport, Option<Unwritten>), Error> {
    let repo = CursorRepo::new(tail.ports.tables.clone());
    let mut report = BlobReport::default();
    let lease = std::cmp::max(tail.settings.tail_budget * 2_i32, MIN_LEASE);
    let until = tail.ports.clock.now() + lease;
    let Some(mut c) = self::claim(&repo, cursor, now, lease).await? else {
        report.contended = true;
        return Ok((report, None));
    };
    let blob = BlobRef::new(tail.container.clone(), c.blob.clone());
    let retiring = c.expired(now, tail.settings.tail_look_back);
    let max_line = tail.settings.max_line_bytes;
    // Retire only once everything was read: a budget cut must not drop the rest of the blob.
    let mut reached_end = false;
    loop {
        let len = tail.settings.tail_chunk_bytes.max(max_line + 1);
        if allowance.spent() || time.passed() {
            break;
        }
        let data = match tail.logs.read_range(&blob, c.offset, len).await {
            Err(AzureError::RangeNotSatisfiable) => {
                reached_end = true;
                c.seen_length = c.offset;
                break;
            }
            Err(AzureError::NotFound) => {
                warn!(blob = %blob, "audit blob vanished; retiring its cursor");
                c.done = true;
                break;
            }
            other => other?,
        };
        let (start, read) = (c.offset, data.len() as u64);
        report.bytes += read;
        let at_end = read < len;
        let step = Step {
            blob: &blob,
            at_end,
            retiring,
            now,
            time,
        };
        let records = report.records;
        let into = unwritten.as_deref_mut();
        let done = process(tail, &mut c, data, &step, &mut report, into).await?;
        allowance.take(read, report.records - records);
        reached_end = at_end && !done.cut;
        if reached_end {
            // Everything up to the end is consumed (but a last line waiting for its newline).
            c.seen_length = c.seen_length.max(start + read);
        }
        if reached_end || !done.advanced || done.cut || allowance.spent() || time.passed() {
            break;
        }
        // Progress so far, the claim kept: the next chunk follows (unwritten records are not
        // written yet, so nothing is saved past them).
        if unwritten.is_none() {
            c = save(tail, until, &c).await?;
        }
    }
    c.done = c.done || (retiring && reached_end);
    c.grown_at = (!reached_end && !c.done).then(|| c.grown_at.unwrap_or(since));
    c.lease_until = None;
    Ok((report, Some(Unwritten { cursor: c, until })))
}

/// What tailing one blob did, summed over its chunks.
#[derive(Debug, Default)]
pub struct BlobReport {
    /// Bytes read.
    pub bytes: u64,
    /// Records parsed (and written).
    pub records: u64,
    /// Corrupt lines quarantined.
    pub corrupt: u64,
    /// Session rows changed.
    pub sessions: usize,
    /// A flush was cut by the time budget.
    pub cut: bool,
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
) -> Result<Done, Error> {
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
        match parse::parse_line(trimmed) {
            Ok(rec) => batch.add_at(offset, &rec, trimmed, &host, window),
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
    report.sessions += flushed.sessions;
    report.cut |= cut.is_some();
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
async fn block(tail: &Tailer, blob: &BlobRef) -> Result<bool, Error> {
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

/// Quarantines corrupt lines (item = blob offset, so re-reads overwrite the same evidence).
pub(super) async fn quarantine(
    tail: &Tailer,
    c: &Cursor,
    blob: &BlobRef,
    corrupt: &[(LineError, Vec<u8>)],
) -> Result<(), Error> {
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
