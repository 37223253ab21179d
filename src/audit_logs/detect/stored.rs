//! The detections as stored in table `failedlogins`: a partition that reached the threshold gets
//! its marker ([`claim`]), listed first under its window's day, and its attempts' sessions are
//! recorded as changed, so the review queue ranks them (and the sessions right after) by this
//! burst. Read back for a period ([`bursts`]: a query per day and two per detection), the
//! evidence pack and the review queue see the detector's own bursts.

use std::collections::BTreeSet;

use serde_json::Value;
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use tracing::error;

use super::burst::digest;
use super::failed::DAY;
use crate::audit_logs::repo::FAILED_TABLE;
use crate::azure::AzureError;
use crate::dates::{days, format_date};
use crate::spine::Finding;
use crate::tables::keys::decode_key;
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_str};
use crate::telemetry::redact;

/// The marker's property saying the digest left with a tick's outputs.
const SETTLED: &str = "Settled";
/// Row key of the marker written when a burst is emitted: its partition is a detection.
pub const MARKER: &str = "~notified";
/// Prefix of the per-day lists (`~` is outside base64url: no attempts partition starts with it).
const LISTS: &str = "~bursts-";
/// Most attempts read per burst (as the detector's own check).
const ATTEMPTS: usize = 10_000;

/// Lists the attempts partition `pk` under its window's day (idempotent; none without a window).
pub async fn list(tables: &dyn TableStore, pk: &str) -> Result<(), AzureError> {
    let Some(start) = window_of(pk) else {
        return Ok(());
    };
    let day = start.to_offset(UtcOffset::UTC).date();
    let e = crate::tables::keyed(list_pk(day), pk);
    write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// The window start an attempts partition stands for.
pub fn window_of(pk: &str) -> Option<OffsetDateTime> {
    decode_key(pk).and_then(|fact| fact.split('|').next().and_then(crate::dates::timestamp))
}

/// The partition of the day list of `day`.
pub fn list_pk(day: Date) -> String {
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

/// The attempts of partition `pk` when it reached `threshold` and no tick settled it yet: the
/// marker is inserted unsettled and settled here, by the tick that emits the digest, so one found
/// unsettled (a lost answer, a dead tick) is emitted again under the same id: at least once,
/// never lost.
pub async fn claim(
    tables: &dyn TableStore,
    pk: &str,
    threshold: usize,
) -> Result<Option<Vec<Entity>>, AzureError> {
    let (marker, attempts) = partition(tables, pk).await?;
    if marker.as_ref().is_some_and(|m| settled(&m.entity)) || attempts.len() < threshold {
        return Ok(None);
    }
    let etag = match marker {
        Some(m) => m.etag.clone(),
        None => {
            // Listed under its day before the marker exists, so no detection is ever unlisted;
            // its sessions recorded as changed before it is settled, so none is ranked without it.
            list(tables, pk).await?;
            changed(tables, &attempts).await?;
            let row = marker_row(pk, false);
            match write_creating_table(tables, FAILED_TABLE, &row, WriteMode::Insert).await {
                Ok(etag) => etag,
                Err(AzureError::Conflict) => match tables.get(FAILED_TABLE, pk, MARKER).await? {
                    Some(m) if !settled(&m.entity) => m.etag,
                    _ => return Ok(None),
                },
                Err(e) => return Err(e),
            }
        }
    };
    let settled = WriteMode::IfMatch(etag);
    if let Err(e) = tables
        .write(FAILED_TABLE, &marker_row(pk, true), settled)
        .await
    {
        // Emitted all the same: the worst case is that a later tick emits it again, same id.
        error!(error.cause_chain = %redact(&e.to_string()), "settling a failed-login marker failed; the digest may be emitted again under the same id");
    }
    Ok(Some(attempts))
}

fn settled(marker: &Entity) -> bool {
    marker.get(SETTLED) == Some(&Value::Bool(true))
}

fn marker_row(pk: &str, settled: bool) -> Entity {
    let mut marker = crate::tables::keyed(pk, MARKER);
    marker.insert(SETTLED.into(), Value::Bool(settled));
    marker
}

/// Records the sessions of `attempts` as changed (attempts stored before their day was: none).
async fn changed(tables: &dyn TableStore, attempts: &[Entity]) -> Result<(), AzureError> {
    let sessions: Vec<(String, String)> = (attempts.iter())
        .filter_map(|a| Some((get_str(a, DAY)?, get_str(a, "RowKey")?)))
        .filter(|(day, _)| !day.is_empty())
        .map(|(day, tunnel)| (day.to_owned(), tunnel.to_owned()))
        .collect();
    crate::catalogue::changes::record(tables, &sessions).await
}

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
