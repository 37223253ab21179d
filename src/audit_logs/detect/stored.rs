//! The detections as stored, read back for a period (the evidence pack counts these, so its
//! figures are the detector's): the detector lists each partition with a [`MARKER`] under its
//! window's day first, so a period costs a query per day and two per detection.

use std::collections::BTreeSet;

use time::{Date, Duration, OffsetDateTime, UtcOffset};

use super::burst::digest;
use crate::audit_logs::repo::FAILED_TABLE;
use crate::azure::AzureError;
use crate::dates::{days, format_date};
use crate::spine::{Notification, alert};
use crate::tables::keys::decode_key;
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_str};

/// Lists the attempts partition `pk` under its window's day (idempotent; none without a window).
pub(super) async fn list(tables: &dyn TableStore, pk: &str) -> Result<(), AzureError> {
    let Some(start) = window_of(pk) else {
        return Ok(());
    };
    let day = start.to_offset(UtcOffset::UTC).date();
    let e = crate::tables::keyed(list_pk(day), pk);
    write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// Row key of the marker written when a burst is emitted: its partition is a detection.
pub const MARKER: &str = "~notified";
/// Most listed detections read at once (far above any period's bursts).
const MARKERS: usize = 1_000_000;
/// Most attempts read per burst (as the detector's own check).
const ATTEMPTS: usize = 10_000;
/// Prefix of the per-day lists (`~` is outside base64url: no attempts partition starts with it).
const LISTS: &str = "~bursts-";

/// The window start an attempts partition stands for.
fn window_of(pk: &str) -> Option<OffsetDateTime> {
    decode_key(pk).and_then(|fact| fact.split('|').next().and_then(crate::dates::timestamp))
}

fn list_pk(day: Date) -> String {
    format!("{LISTS}{}", format_date(day))
}

/// The marker row of attempts partition `pk`, if any, and its attempts.
pub async fn partition(
    tables: &dyn TableStore,
    pk: &str,
) -> Result<(Option<Stored>, Vec<Entity>), AzureError> {
    let rows = query_all(tables, FAILED_TABLE, &Filter::partition(pk), ATTEMPTS).await?;
    let (mut marker, mut attempts) = (None, Vec::new());
    for r in rows {
        match get_str(&r.entity, "RowKey") {
            Some(MARKER) => marker = Some(r),
            Some(_) => attempts.push(r.entity),
            None => {}
        }
    }
    Ok((marker, attempts))
}

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
) -> Result<Vec<Notification>, AzureError> {
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
            found.push((
                start,
                alert(digest(pk, &attempts.iter().collect::<Vec<_>>(), window)),
            ));
        }
    }
    found.sort_by(|a, b| (a.0, &a.1.notification_id).cmp(&(b.0, &b.1.notification_id)));
    Ok(found.into_iter().map(|(_, n)| n).collect())
}
