//! Reads of one round of the session-side join: the recordings a set of changed sessions can
//! affect, each read once.

use std::collections::BTreeMap;

use time::Duration;

use crate::audit_logs::correlate::Span;
use crate::audit_logs::join::Joiner;
use crate::audit_logs::repo::RECORDING_KEYS_TABLE;
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::model::{CatalogueEntry, RecordingKey};
use crate::catalogue::repo::Versioned;
use crate::dates::days;
use crate::dates::{format_date, format_utc};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Filter, Stored, TableError};

/// Most recordings one session's GUID can name (`recordingkeys` rows of one partition read).
const MAX_KEYED: usize = 100;

/// A catalogue row as read, and whether one of its GUIDs is a changed session.
pub(super) struct Affected {
    pub row: Versioned<CatalogueEntry>,
    pub via_keys: bool,
}

/// The affected recordings, by key (ordered, so the writes happen in a stable order).
pub(super) type AffectedSet = BTreeMap<(String, String), Affected>;

pub(super) fn versioned(s: Stored) -> Option<Versioned<CatalogueEntry>> {
    let value = CatalogueEntry::from_entity(&s.entity)?;
    Some(Versioned {
        value,
        etag: s.etag,
        raw: s.entity,
    })
}

/// The recordings whose GUIDs include `tunnel` (one partition of `recordingkeys`).
///
/// # Errors
/// Table errors.
pub(super) async fn keyed(join: &Joiner, tunnel: &str) -> Result<Vec<RecordingKey>, TableError> {
    let rows = query_all(
        &join.ports.tables,
        RECORDING_KEYS_TABLE,
        &Filter::partition(&crate::audit_logs::sessions::tunnel_key(tunnel)),
        MAX_KEYED,
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|s| RecordingKey::of_row(&s.entity))
        .collect())
}

/// Whether any recording names a GUID (`recordingkeys` holds a row). Asked after the round read
/// its pending rows: a recording indexing its GUIDs later looks its sessions up after that, so it
/// finds them itself.
///
/// # Errors
/// Table errors.
pub(super) async fn any_keys(join: &Joiner) -> Result<bool, TableError> {
    match join
        .ports
        .tables
        .query(RECORDING_KEYS_TABLE, None, Some(1), None)
        .await
    {
        Ok(page) => Ok(!page.items.is_empty() || page.next.is_some()),
        Err(TableError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Merges overlapping spans (sorted by start).
pub(super) fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| s.from);
    let mut out: Vec<Span> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(last) if s.from <= last.until => *last = last.union(s),
            _ => out.push(s),
        }
    }
    out
}

/// Adds every catalogued recording created within `spans` to `into`: one query per creation day
/// of each span. A row lives under its blob's creation day and records the event time, which is a
/// moment later: the day before is read too when a span starts within an hour of midnight.
///
/// # Errors
/// Table errors.
pub(super) async fn created_within(
    join: &Joiner,
    spans: &[Span],
    into: &mut AffectedSet,
) -> Result<(), TableError> {
    for span in spans {
        for day in days((span.from - Duration::hours(1)).date(), span.until.date()) {
            let filter = Filter::And(vec![
                Filter::partition(&format_date(day)),
                Filter::str("BlobCreated", Op::Ge, format_utc(span.from)),
                Filter::str("BlobCreated", Op::Le, format_utc(span.until)),
            ]);
            let rows = query_all(&join.ports.tables, RECORDINGS_TABLE, &filter, usize::MAX).await?;
            for row in rows.into_iter().filter_map(versioned) {
                let key = (row.value.key.pk.clone(), row.value.key.rk.clone());
                into.entry(key).or_insert(Affected {
                    row,
                    via_keys: false,
                });
            }
        }
    }
    Ok(())
}

/// Marks the recordings of `keys` as found through `recordingkeys`, reading those the time
/// queries did not return.
///
/// # Errors
/// Table errors.
pub(super) async fn add_keyed(
    join: &Joiner,
    keys: &[RecordingKey],
    into: &mut AffectedSet,
) -> Result<(), TableError> {
    let repo = crate::catalogue::repo::CatalogueRepo::new(join.ports.tables.clone());
    for key in keys {
        let id = (key.pk.clone(), key.rk.clone());
        if let Some(a) = into.get_mut(&id) {
            a.via_keys = true;
            continue;
        }
        match repo.get(key).await {
            Ok(Some(row)) => {
                into.insert(
                    id,
                    Affected {
                        row,
                        via_keys: true,
                    },
                );
            }
            // Gone, or a row that no longer parses: nothing to join.
            Ok(None) | Err(TableError::Permanent(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
