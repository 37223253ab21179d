//! The detections as stored, read back for a period (the evidence pack counts these, so its
//! figures are the detector's): the detector lists each partition with a marker (`failed.rs`) under its
//! window's day first, so a period costs a query per day and two per detection.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime, UtcOffset};

use super::burst::digest;
use super::failed::{list_pk, partition, window_of};
use crate::audit_logs::repo::FAILED_TABLE;
use crate::azure::AzureError;
use crate::dates::days;
use crate::spine::Finding;
use crate::tables::ops::query_all;
use crate::tables::{Filter, TableStore, get_str};

/// Most listed detections read at once (far above any period's bursts).
const MARKERS: usize = 1_000_000;

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
) -> Result<Vec<Finding>, AzureError> {
    let mut listed = BTreeSet::new();
    let last = to.to_offset(UtcOffset::UTC).date();
    for d in days(from.to_offset(UtcOffset::UTC).date(), last) {
        let rows = query_all(
            tables,
            FAILED_TABLE,
            &Filter::partition(&list_pk(d)),
            MARKERS,
        )
        .await?;
        listed.extend(
            rows.iter()
                .filter_map(|r| get_str(&r.entity, "RowKey").map(str::to_owned)),
        );
    }
    let mut found = Vec::new();
    for pk in &listed {
        let start = window_of(pk);
        if !start.is_some_and(|s| s >= from && s < to) {
            continue;
        }
        // Listed, then the marker: a detector that stopped in between detected nothing.
        if let (Some(_), attempts) = partition(tables, pk).await? {
            let f = digest(pk, &attempts.iter().collect::<Vec<_>>(), window);
            found.push((start, f.id(), f));
        }
    }
    found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(found.into_iter().map(|(_, _, f)| f).collect())
}
