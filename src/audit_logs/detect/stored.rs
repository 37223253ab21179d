//! The `login.failed.burst` detections as stored, read back for a period (the evidence pack counts
//! these rather than recounting failed logins, so its figures are the detector's).
//!
//! A detection is a `failedlogins` partition holding the `~notified` marker ([`super::failed`]); its
//! digest is rebuilt from the partition's attempts by the detector's own [`super::burst::digest`],
//! so it carries the notification id, hosts and window the detector sent. Markers carry no time of
//! their own, so they are found by a filter on the row key across the table (the table holds failed
//! attempts only) and kept when their window starts in the period.

use time::{Duration, OffsetDateTime};

use super::burst::digest;
use super::failed::MARKER;
use crate::audit_logs::repo::FAILED_TABLE;
use crate::notify::Notification;
use crate::tables::filter::Op;
use crate::tables::keys::decode_key;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableError, TableStore, get_str};

/// Most markers read (far above any period's bursts).
const MARKERS: usize = 1_000_000;
/// Most attempts read per burst (as the detector's own check).
const ATTEMPTS: usize = 10_000;

/// The detections whose window starts in `[from, to)`, in window order, as the detector's digests
/// (`window` is `FAILED_LOGIN_WINDOW_MINUTES`).
///
/// # Errors
/// Table errors (an absent table holds none).
pub async fn bursts(
    tables: &dyn TableStore,
    from: OffsetDateTime,
    to: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Notification>, TableError> {
    let markers = query_all(
        tables,
        FAILED_TABLE,
        &Filter::str("RowKey", Op::Eq, MARKER),
        MARKERS,
    )
    .await?;
    let mut found = Vec::new();
    for m in &markers {
        let Some(pk) = get_str(&m.entity, "PartitionKey") else {
            continue;
        };
        let start = decode_key(pk)
            .and_then(|fact| fact.split('|').next().and_then(crate::dates::timestamp));
        if !start.is_some_and(|s| s >= from && s < to) {
            continue;
        }
        let rows = query_all(tables, FAILED_TABLE, &Filter::partition(pk), ATTEMPTS).await?;
        let attempts: Vec<&Entity> = rows
            .iter()
            .map(|r| &r.entity)
            .filter(|e| get_str(e, "RowKey").is_some_and(|rk| rk != MARKER))
            .collect();
        found.push((start, digest(pk, &attempts, window)));
    }
    found.sort_by(|a, b| (a.0, &a.1.notification_id).cmp(&(b.0, &b.1.notification_id)));
    Ok(found.into_iter().map(|(_, n)| n).collect())
}
