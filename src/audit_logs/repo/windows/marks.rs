//! Join state on index rows: `Recorded` and `RecordingIds`, **derived** from the current matches
//! of the recordings that can name the session and rewritten whole, never accumulated; and the
//! pending range, which asks for that derivation.
//!
//! Only the session side of the join ([`Joiner::run_pending`](crate::audit_logs::join::Joiner)) sets
//! the state, in the write that clears the range: it has read every recording whose match can name
//! the session (those created within the range, and those naming its tunnel id). Whoever changes
//! which sessions a recording's match names marks all of them, old and new, pending first
//! ([`mark_pending`]), so a session that loses its recording loses its mark.

use serde_json::Value;
use time::Duration;

use super::{MAX_IDS, WindowRow, set, set_pending, widen};
use crate::audit_logs::correlate::window_span;
use crate::audit_logs::repo::WINDOWS_TABLE;
use crate::tables::filter::Op;
use crate::tables::ops::{get, query_all, update_from};
use crate::tables::{Entity, Filter, Stored, TableError, TableStore, WriteMode, get_str};

/// `cur` with its join state set from `ids` (every recording whose current match names the
/// session) and its pending range cleared when `clear`; `None` when that changes nothing.
fn derived(cur: &Entity, ids: &[String], clear: bool) -> Option<Entity> {
    let mut e = cur.clone();
    let shown = ids[..ids.len().min(MAX_IDS)].join(",");
    let mut changed = false;
    if get_str(&e, "RecordingIds").unwrap_or_default() != shown {
        set(&mut e, "RecordingIds", shown);
        changed = true;
    }
    let recorded = Value::Bool(!ids.is_empty());
    if e.get("Recorded") != Some(&recorded) {
        set(&mut e, "Recorded", recorded);
        changed = true;
    }
    if clear && super::pending_of(&e).is_some() {
        set_pending(&mut e, None);
        changed = true;
    }
    changed.then_some(e)
}

/// Marks the session of index row `(pk, tunnel)` pending over its whole window, so the next round
/// of the session-side join derives its state again from every recording that can name it. Safe
/// to repeat (the range only widens) and never wrong, only work; always a write. `read` is the
/// row as the caller holds it (`None`: read it now). Returns the row as stored now, `None` when
/// there is none.
///
/// # Errors
/// Table errors.
pub async fn mark_pending(
    tables: &dyn TableStore,
    pk: &str,
    tunnel: &str,
    read: Option<Stored>,
    lag: Duration,
    open_max: Duration,
) -> Result<Option<Stored>, TableError> {
    let current = match read {
        Some(row) => Some(row),
        None => get(tables, WINDOWS_TABLE, pk, tunnel).await?,
    };
    update_from(tables, WINDOWS_TABLE, pk, tunnel, current, &mut |cur| {
        let cur = &cur?.entity;
        let row = WindowRow::from_entity(cur)?;
        let span = window_span(row.start, row.end, lag, open_max);
        // Written even when already pending over the span: the new ETag fails a concurrent
        // round's settle that derived the state from what this change replaces.
        let mut e = cur.clone();
        widen(&mut e, Some(span));
        Some(e)
    })
    .await
}

/// Records the join of one pending session: its join state from `ids` (the recordings whose
/// current match names it, as the round decided them) and, when `clear`, its pending range cleared,
/// in one write conditional on `read` (the row as the round read it). When the row changed since
/// (a newer record, or a recording marking it again), nothing is written and it stays pending: the
/// next round derives it from newer reads. Returns whether anything was written.
///
/// # Errors
/// Table errors.
pub async fn settle(
    tables: &dyn TableStore,
    read: &Stored,
    ids: &[String],
    clear: bool,
) -> Result<bool, TableError> {
    let Some(next) = derived(&read.entity, ids, clear) else {
        return Ok(false);
    };
    match tables
        .write(WINDOWS_TABLE, &next, WriteMode::IfMatch(read.etag.clone()))
        .await
    {
        Ok(_) => Ok(true),
        Err(TableError::PreconditionFailed | TableError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// [`settle`] for the rows of one partition (at most [`MAX_BATCH`](crate::tables::MAX_BATCH), each with its `ids`): those
/// whose state changes are written in one entity group transaction, each conditional on the row as
/// read. When the batch is refused (a row changed since, or a store without transactions failed
/// part way), every row is settled alone, so each ends written or left pending as [`settle`] would
/// leave it. Returns how many rows the calls wrote.
///
/// # Errors
/// Table errors.
pub async fn settle_batch(
    tables: &dyn TableStore,
    rows: &[(&Stored, Vec<String>)],
    clear: bool,
) -> Result<usize, TableError> {
    let writes: Vec<(Entity, WriteMode)> = rows
        .iter()
        .filter_map(|(read, ids)| {
            let next = derived(&read.entity, ids, clear)?;
            Some((next, WriteMode::IfMatch(read.etag.clone())))
        })
        .collect();
    if writes.len() > 1 && tables.batch(WINDOWS_TABLE, &writes).await.is_ok() {
        return Ok(writes.len());
    }
    let mut written = 0;
    for (read, ids) in rows {
        written += usize::from(settle(tables, read, ids, clear).await?);
    }
    Ok(written)
}

/// Rows with a pending join whose start day is `since_day` or later, at most `limit`.
///
/// # Errors
/// Table errors.
pub async fn pending_rows(
    tables: &dyn TableStore,
    since_day: &str,
    limit: usize,
) -> Result<Vec<Stored>, TableError> {
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, since_day),
        Filter::str("JoinFrom", Op::Gt, ""),
    ]);
    query_all(tables, WINDOWS_TABLE, &filter, limit).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids(e: &Entity) -> &str {
        get_str(e, "RecordingIds").unwrap_or_default()
    }

    #[test]
    fn join_state_is_derived_from_the_links_and_the_pending_range_cleared() {
        let row = json!({"PartitionKey": "d", "RowKey": "t", "Recorded": false, "RecordingIds": "",
            "JoinFrom": "2025-03-14T09:00:00.000Z", "JoinUntil": "2025-03-14T10:00:00.000Z"});
        let row = row.as_object().cloned().expect("object");
        assert_eq!(derived(&row, &[], false), None, "nothing to do");
        let e = derived(&row, &["a".into(), "b".into()], false).expect("marked");
        assert_eq!((ids(&e), e["Recorded"].clone()), ("a,b", Value::Bool(true)));
        assert!(super::super::pending_of(&e).is_some(), "still pending");
        assert_eq!(
            derived(&e, &["a".into(), "b".into()], false),
            None,
            "same links"
        );
        let withdrawn = derived(&e, &["b".into()], false).expect("one withdrawn");
        assert_eq!(ids(&withdrawn), "b");
        let none = derived(&e, &[], true).expect("all withdrawn");
        assert_eq!(
            (ids(&none), none["Recorded"].clone()),
            ("", Value::Bool(false))
        );
        assert_eq!(super::super::pending_of(&none), None);
        let many: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
        let full = derived(&row, &many, false).expect("marked");
        assert_eq!(ids(&full).split(',').count(), MAX_IDS);
        assert_eq!(full["Recorded"], Value::Bool(true));
    }
}
