//! Tailing one `PT1H.json`: claim the cursor, ranged reads from its offset, each chunk flushed and
//! the offset advanced `If-Match` the claim's ETag. The claim lasts twice the tick's time budget
//! (at least 5 minutes) and a save is refused once it ran out, so a slower instance never
//! overwrites another's progress. A budget cut saves the offset where the written records end.
//! [`read_unwritten`] reads a blob whole and keeps its records for its caller to write with other
//! blobs' (the backfill), the cursor saved only after that write.

use time::{Duration, OffsetDateTime};
use tracing::warn;

use super::Tailer;
use super::batch::Batch;
use super::chunk::{self, BlobReport};
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::azure::AzureError;
use crate::clock::Budget;
use crate::ports::Failure;
use crate::storage::BlobRef;

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

/// How long a claim lasts with this time budget.
pub fn lease(budget: Duration) -> Duration {
    std::cmp::max(budget * 2_i32, MIN_LEASE)
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
async fn save(tail: &Tailer, until: OffsetDateTime, c: &Cursor) -> Result<Cursor, Failure> {
    if tail.ports.clock.now() >= until {
        return Err(Failure::storage(anyhow::anyhow!(
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
/// `Retryable` on storage failures; the cursor keeps its last saved offset.
pub async fn tail_blob(
    tail: &Tailer,
    cursor: &Cursor,
    now: OffsetDateTime,
    allowance: &mut Allowance,
    time: &Budget,
    since: OffsetDateTime,
) -> Result<BlobReport, Failure> {
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
    /// `Retryable` when the claim ran out or the table fails (the next reader repeats the blob:
    /// session writes merge, so writing its records again changes nothing).
    pub async fn save(&self, tail: &Tailer) -> Result<(), Failure> {
        save(tail, self.until, &self.cursor).await.map(drop)
    }
}

/// Claims and reads one blob to its end (no allowance, no time budget), folding its records into
/// `into` instead of writing them, so the sessions of several hours cost one write each (the
/// backfill's). `None` when another reader holds the cursor.
///
/// # Errors
/// `Retryable` on storage failures (nothing of the blob is saved).
pub async fn read_unwritten(
    tail: &Tailer,
    cursor: &Cursor,
    now: OffsetDateTime,
    into: &mut Batch<'static>,
) -> Result<Option<Unwritten>, Failure> {
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
) -> Result<(BlobReport, Option<Unwritten>), Failure> {
    let repo = CursorRepo::new(tail.ports.tables.clone());
    let mut report = BlobReport::default();
    let lease = lease(tail.settings.tail_budget);
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
        let step = chunk::Step {
            blob: &blob,
            at_end,
            retiring,
            now,
            time,
        };
        let records = report.records;
        let into = unwritten.as_deref_mut();
        let done = chunk::process(tail, &mut c, data, &step, &mut report, into).await?;
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
    c.grown_at = if reached_end || c.done {
        None
    } else {
        Some(c.grown_at.unwrap_or(since))
    };
    c.lease_until = None;
    Ok((report, Some(Unwritten { cursor: c, until })))
}
