//! Recordings still being written: an append blob whose `BlobCreated` reported 0 bytes (Event
//! Grid announces an append blob when it is created; the blocks appended after raise no event) is
//! catalogued `Growing`, its size not judged. Every fifth minute ([`looks_at`]) the audit-log
//! tick reads the properties of the growing rows: while the blob was modified within `RECORDING_UPLOAD_LAG_MINUTES` its ETag and
//! length follow it; once it was not, it has stopped growing and is judged as a blob catalogued
//! at that size (`RECORDING_MIN_BYTES`: [`Doubt::TooSmall`](crate::catalogue::doubt::Doubt)), due
//! for the join. Until then its match is decided on its name and time alone, so no
//! `recording.suspect` or `session.unrecorded` stands for a recording that completes.

use time::{Duration, OffsetDateTime};

use super::reads::Join;
use crate::azure::{AzureError, found};
use crate::catalogue::recording::{Recording, STATUS_CATALOGUED};
use crate::catalogue::repo;
use crate::storage::BlobProps;
use crate::tables::Filter;
use crate::tables::filter::Op;

/// Most growing rows one tick reads.
const LIMIT: usize = 200;

/// True for the ticks that look at the growing rows: every fifth minute (a tick a minute would
/// cost a query each, whether anything grows or not).
pub fn looks_at(now: OffsetDateTime) -> bool {
    now.minute().is_multiple_of(5)
}

/// `cur` after its blob was read with `props` at `now`: its ETag and length as read, judged
/// (not growing, `BelowMinBytes` when short, due for the join) once the blob was last modified
/// `quiet` or more before `now`; `None` when nothing changes.
pub fn followed(
    cur: &Recording,
    props: &BlobProps,
    (now, quiet, min_bytes): (OffsetDateTime, Duration, u64),
) -> Option<Recording> {
    if !cur.growing || cur.status != STATUS_CATALOGUED {
        return None;
    }
    let mut next = cur.clone();
    next.etag.clone_from(&props.etag);
    next.content_length = props.content_length;
    if props.last_modified.is_none_or(|m| m + quiet <= now) {
        next.growing = false;
        next.below_min_bytes = (props.content_length < min_bytes).then_some(min_bytes);
        next.due_again(now);
    }
    (next != *cur).then_some(next)
}

/// Reads the growing rows catalogued since the join's horizon (`window` + 2 days) and follows
/// each blob ([`followed`]); the rows judged complete.
///
/// # Errors
/// Storage failures (what was written stays; the rest is read again next tick).
pub async fn run(join: &Join, now: OffsetDateTime, window: Duration) -> Result<usize, AzureError> {
    let tables = join.ports.tables.as_ref();
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, super::reads::horizon(now, window)),
        Filter::bool("Growing", true),
    ]);
    let rows = repo::versioned(tables, &filter, LIMIT).await?;
    let repo = join.ports.catalogue();
    let mut judged = 0;
    for row in rows {
        let r = &row.value;
        let Some(source) = join.ports.sources.recording(&r.account, &r.container) else {
            continue;
        };
        // Gone: its `BlobDeleted` (or the daily listing) records the deletion.
        let Some(props) = found(source.store.properties(&source.blob(&r.blob_name)).await)? else {
            continue;
        };
        let settings = (now, join.times.lag, join.min_bytes);
        let key = r.key.clone();
        let written = repo
            .update(&key, Some(row), |cur| followed(cur?, &props, settings))
            .await?;
        judged += usize::from(written.is_some_and(|w| !w.value.growing));
    }
    Ok(judged)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn props(len: u64, etag: &str, modified: OffsetDateTime) -> BlobProps {
        BlobProps {
            content_length: len,
            content_type: None,
            etag: etag.into(),
            last_modified: Some(modified),
            created: None,
            kind: Some(crate::storage::BlobKind::Append),
            metadata: crate::storage::Metadata::new(),
            tag_count: None,
        }
    }

    #[test]
    fn a_growing_recording_is_followed_then_judged_once_quiet() {
        let t = datetime!(2025-03-14 09:00 UTC);
        let mut r = crate::testkit::audit::recording_row("rec.webm", t);
        r.status = STATUS_CATALOGUED.into();
        r.content_length = 0;
        r.growing = true;
        let quiet = Duration::minutes(30);
        let at = |m: i64| t + Duration::minutes(m);
        // Still written to: followed, not judged.
        let grown = followed(&r, &props(3000, "0x2", at(40)), (at(50), quiet, 4096)).expect("grew");
        assert!(grown.growing && grown.below_min_bytes.is_none() && grown.rejoin_at.is_none());
        assert_eq!((grown.content_length, grown.etag.as_str()), (3000, "0x2"));
        // Quiet for the lag: judged at its size.
        let done =
            followed(&grown, &props(9000, "0x3", at(60)), (at(90), quiet, 4096)).expect("done");
        assert!(!done.growing && done.below_min_bytes.is_none());
        assert_eq!(done.rejoin_at, Some(at(90)), "due for the join");
        let short =
            followed(&grown, &props(3000, "0x2", at(40)), (at(70), quiet, 4096)).expect("short");
        assert_eq!(
            short.below_min_bytes,
            Some(4096),
            "too small once it stopped"
        );
        assert_eq!(
            followed(&done, &props(9000, "0x3", at(60)), (at(99), quiet, 4096)),
            None
        );
    }
}
