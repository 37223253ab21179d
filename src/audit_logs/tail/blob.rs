//! One hour blob's read: its cursor claimed, then chunk by chunk a ranged read from its offset
//! parsed ([`super::read`]) and kept ([`keep`]), the offset saved `If-Match` the claim's
//! ETag between chunks. The claim lasts twice the tick's time budget (at least 5 minutes) and a
//! save is refused once it ran out, so a slower instance never overwrites another's progress. A
//! budget cut saves the offset where the written records end. [`read_unwritten`] reads a blob
//! whole and keeps its records for its caller to write with other blobs' (the backfill), the
//! cursor saved only after that write.

use time::{Duration, OffsetDateTime};
use tracing::{error, warn};

use super::batch::Batch;
use super::keep;
use super::read::{self, Range};
use super::tailer::{BlobReport, Listed, Tailer, TickReport};
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::audit_logs::{error::Error, settings::AuditSettings};
use crate::clock::Budget;
use crate::sources::Source;
use crate::telemetry::redact;

/// Share of the time budget reading may use; the join gets the rest.
const READ_SHARE: f64 = 0.5;
/// The shortest claim.
const MIN_LEASE: Duration = Duration::minutes(5);

/// Reads the blobs `listed` grown (oldest growth first) within the allowance and the reading
/// share of `time`: the tick's totals and the cursors whose growth is left unread, their
/// `GrownAt` set (those not marked before).
pub async fn read_grown(
    tail: &Tailer,
    listed: Listed,
    now: OffsetDateTime,
    time: &Budget,
) -> (TickReport, Vec<Cursor>) {
    let reading = time.share(READ_SHARE);
    let mut report = TickReport {
        hosts: listed.hosts,
        hosts_failed: listed.failed,
        grown: listed.grown.len(),
        registered: listed.registered,
        ..TickReport::default()
    };
    let mut grown = listed.grown;
    grown.sort_by_key(|(_, g)| (g.since, g.cursor.hour));
    let mut allowance = Allowance::of(&tail.settings);
    let mut left = Vec::new();
    for (source, g) in grown {
        if allowance.spent() || reading.passed() {
            left.push(g);
            continue;
        }
        let cursor = &g.cursor;
        let at = (&source, cursor);
        match read(tail, at, now, &mut allowance, &reading, g.since).await {
            Ok(r) => report.add(&r),
            Err(e) => {
                report.blobs += 1;
                report.failed += 1;
                error!(blob = %cursor.blob, error.cause_chain = %redact(&e.to_string()), "tailing an audit blob failed; retried next tick");
            }
        }
    }
    report.left = left.len();
    report.cut |= !left.is_empty();
    let unmarked = left.into_iter().filter(|g| g.cursor.grown_at.is_none());
    let marked = unmarked.map(|g| Cursor {
        grown_at: Some(g.since),
        ..g.cursor
    });
    (report, marked.collect())
}

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

    /// What one tick (or one `AuditLogCreated`) may read.
    pub fn of(settings: &AuditSettings) -> Self {
        Self {
            bytes: settings.tail_max_bytes,
            records: settings.tail_max_records,
        }
    }

    /// Nothing more may be read.
    pub fn spent(&self) -> bool {
        self.bytes == 0 || self.records == 0
    }
}

/// Reads one blob within `allowance` (decremented) until `time` runs out. `since`: when its
/// unread growth began, kept in `GrownAt` if this read stops before the end.
///
/// # Errors
/// [`Error`] on a storage fault, or when its claim ran out; the cursor keeps its last saved
/// offset.
pub async fn read(
    tail: &Tailer,
    at: (&Source, &Cursor),
    now: OffsetDateTime,
    allowance: &mut Allowance,
    time: &Budget,
    since: OffsetDateTime,
) -> Result<BlobReport, Error> {
    let (report, read) = chunks(tail, at, (now, since), allowance, time, None).await?;
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
        keep::save(tail, self.until, &self.cursor).await.map(drop)
    }
}

/// Claims and reads one blob to its end (no allowance, no time budget), folding its records into
/// `into` instead of writing them, so the sessions of several hours cost one write each (the
/// backfill's). `None` when another reader holds the cursor.
///
/// # Errors
/// [`Error`] on a storage fault (nothing of the blob is saved).
pub async fn read_unwritten(
    tail: &Tailer,
    at: (&Source, &Cursor),
    now: OffsetDateTime,
    into: &mut Batch<'static>,
) -> Result<Option<Unwritten>, Error> {
    let never = Budget::unlimited(tail.ports.clock.clone());
    let mut all = Allowance::UNLIMITED;
    let (_, unwritten) = chunks(tail, at, (now, now), &mut all, &never, Some(into)).await?;
    Ok(unwritten)
}

/// Claims `cursor` and reads its blob in `source` from its offset; returns the report and the cursor to save (`None`
/// when contended). Without `unwritten` each chunk is written and progress saved between chunks;
/// with it, the records are folded into `unwritten` and nothing is saved.
async fn chunks(
    tail: &Tailer,
    (source, cursor): (&Source, &Cursor),
    (now, since): (OffsetDateTime, OffsetDateTime),
    allowance: &mut Allowance,
    time: &Budget,
    mut unwritten: Option<&mut Batch<'static>>,
) -> Result<(BlobReport, Option<Unwritten>), Error> {
    let (ports, settings) = (&tail.ports, &tail.settings);
    let mut report = BlobReport::default();
    let lease = std::cmp::max(settings.tail_budget * 2_i32, MIN_LEASE);
    let until = ports.clock.now() + lease;
    let repo = CursorRepo::new(ports.tables.clone());
    let Some(mut c) = repo.claim(cursor, now, lease).await? else {
        report.contended = true;
        return Ok((report, None));
    };
    let (store, blob) = (source.store.as_ref(), source.blob(c.blob.clone()));
    let retiring = c.expired(now, settings.tail_look_back);
    // Retire only once everything was read: a budget cut must not drop the rest of the blob.
    let mut reached_end = false;
    loop {
        let len = settings.tail_chunk_bytes.max(settings.max_line_bytes + 1);
        if allowance.spent() || time.passed() {
            break;
        }
        let (data, at_end) = match read::range(store, &blob, c.offset, len).await? {
            Range::Read { data, at_end } => (data, at_end),
            Range::End => {
                reached_end = true;
                c.seen_length = c.offset;
                break;
            }
            Range::Gone => {
                warn!(blob = %blob, "audit blob vanished; retiring its cursor");
                c.done = true;
                break;
            }
        };
        let (start, bytes) = (c.offset, data.len() as u64);
        report.bytes += bytes;
        // Declared before the batch: its sessions borrow the host name.
        let host = c.bastion_host.clone();
        let place = (at_end, retiring);
        let parsed = read::parse(store, &blob, &c, &data, &host, place, settings).await?;
        let into = unwritten.as_deref_mut();
        let kept = keep::chunk(tail, &mut c, parsed, &blob, (now, time), into).await?;
        (report.records, report.corrupt) =
            (report.records + kept.records, report.corrupt + kept.corrupt);
        report.sessions += kept.sessions;
        report.cut |= kept.cut;
        allowance.bytes = allowance.bytes.saturating_sub(bytes);
        allowance.records = allowance.records.saturating_sub(kept.records);
        reached_end = at_end && !kept.cut;
        if reached_end {
            // Everything up to the end is consumed (but a last line waiting for its newline).
            c.seen_length = c.seen_length.max(start + bytes);
        }
        if reached_end || !kept.advanced || kept.cut || allowance.spent() || time.passed() {
            break;
        }
        // Progress so far, the claim kept: the next chunk follows (unwritten records are not
        // written yet, so nothing is saved past them).
        if unwritten.is_none() {
            c = keep::save(tail, until, &c).await?;
        }
    }
    c.done = c.done || (retiring && reached_end);
    c.grown_at = (!reached_end && !c.done).then(|| c.grown_at.unwrap_or(since));
    c.lease_until = None;
    Ok((report, Some(Unwritten { cursor: c, until })))
}
