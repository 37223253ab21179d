//! Join state on index rows: the recordings joined to a session (`Recorded`, `RecordingIds`), and
//! its pending range, found with one query and cleared once the join has run.

use std::sync::Arc;

use serde_json::Value;

use super::{MAX_IDS, WindowRow, set, set_pending};
use crate::audit_logs::repo::{WINDOWS_TABLE, query_all, update};
use crate::dates::format_date;
use crate::tables::filter::Op;
use crate::tables::{Entity, Filter, Stored, TableError, TableStore, WriteMode, get_str};

/// `cur` with `ids` added (up to the bounded list) and `Recorded` set, and its pending range
/// cleared when `clear`; `None` when that changes nothing.
fn settled(cur: &Entity, ids: &[String], clear: bool) -> Option<Entity> {
    let mut e = cur.clone();
    let mut list: Vec<String> = get_str(&e, "RecordingIds")
        .unwrap_or_default()
        .split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect();
    let mut changed = false;
    if !ids.is_empty() {
        // The list is bounded (ambiguous matches can name many recordings): `Recorded` is what counts.
        for id in ids {
            if list.len() < MAX_IDS && !list.contains(id) {
                list.push(id.clone());
                changed = true;
            }
        }
        if e.get("Recorded") != Some(&Value::Bool(true)) {
            set(&mut e, "Recorded", true);
            changed = true;
        }
        set(&mut e, "RecordingIds", list.join(","));
    }
    if clear && super::pending_of(&e).is_some() {
        set_pending(&mut e, None);
        changed = true;
    }
    changed.then_some(e)
}

/// Marks sessions as having (possibly) a recording: adds `recording_id` to each row's list.
///
/// # Errors
/// Table errors.
pub async fn mark_recorded(
    tables: &Arc<dyn TableStore>,
    rows: &[WindowRow],
    recording_id: &str,
) -> Result<(), TableError> {
    let ids = [recording_id.to_owned()];
    for row in rows {
        let pk = format_date(row.start.date());
        update(tables, WINDOWS_TABLE, &pk, &row.tunnel_id, &mut |cur| {
            settled(cur?, &ids, false)
        })
        .await?;
    }
    Ok(())
}

/// Records the join of one session: adds `ids` to its row and, when `clear`, clears its pending
/// range, in one write conditional on `read` (the row as the join read it). When the row changed
/// since, the ids are still added (read-modify-write) but the range stays pending: the change may
/// need another join, which the next tick runs. Returns whether anything was written.
///
/// # Errors
/// Table errors.
pub async fn settle(
    tables: &Arc<dyn TableStore>,
    read: &Stored,
    ids: &[String],
    clear: bool,
) -> Result<bool, TableError> {
    let Some(next) = settled(&read.entity, ids, clear) else {
        return Ok(false);
    };
    match tables
        .write(WINDOWS_TABLE, &next, WriteMode::IfMatch(read.etag.clone()))
        .await
    {
        Ok(_) => return Ok(true),
        Err(TableError::PreconditionFailed | TableError::NotFound) => {}
        Err(e) => return Err(e),
    }
    if ids.is_empty() {
        return Ok(false);
    }
    let key = |k: &str| get_str(&read.entity, k).unwrap_or_default().to_owned();
    let (pk, rk) = (key("PartitionKey"), key("RowKey"));
    update(tables, WINDOWS_TABLE, &pk, &rk, &mut |cur| {
        settled(cur?, ids, false)
    })
    .await?;
    Ok(true)
}

/// Rows with a pending join whose start day is `since_day` or later, at most `limit`.
///
/// # Errors
/// Table errors.
pub async fn pending_rows(
    tables: &Arc<dyn TableStore>,
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
    fn marks_add_ids_up_to_the_bound_and_clear_the_pending_range() {
        let row = json!({"PartitionKey": "d", "RowKey": "t", "Recorded": false, "RecordingIds": "",
            "JoinFrom": "2025-03-14T09:00:00.000Z", "JoinUntil": "2025-03-14T10:00:00.000Z"});
        let row = row.as_object().cloned().expect("object");
        assert_eq!(settled(&row, &[], false), None, "nothing to do");
        let e = settled(&row, &["a".into(), "b".into()], false).expect("marked");
        assert_eq!((ids(&e), e["Recorded"].clone()), ("a,b", Value::Bool(true)));
        assert!(super::super::pending_of(&e).is_some(), "still pending");
        assert_eq!(settled(&e, &["a".into()], false), None, "already marked");
        let cleared = settled(&e, &["a".into()], true).expect("cleared");
        assert_eq!(super::super::pending_of(&cleared), None);
        let many: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
        let full = settled(&row, &many, false).expect("marked");
        assert_eq!(ids(&full).split(',').count(), MAX_IDS);
        assert_eq!(
            settled(&full, &["x".into()], false),
            None,
            "full and recorded"
        );
    }
}
