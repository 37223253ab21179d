//! Table `auditqueries`: per workspace (PartitionKey = its id) the cursor row (`cursor`, written
//! only `If-Match` the ETag it was read with, so two instances never move it backwards) and the
//! status row (`status`, upserted: the last outcome, shown by `/api/health`).

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::{format_utc, timestamp};
use crate::loganalytics::slice::iso;
use crate::loganalytics::slice::{CursorState, RowId, tick_of};
use crate::tables::ops::{get, query_all, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

/// The table.
pub const TABLE: &str = "auditqueries";
/// Row key of the live cursor (`AuditLogQuery`).
pub const CURSOR_ROW: &str = "cursor";
/// Row key of the backfill's cursor: its own, so the live cursor never moves back.
pub const BACKFILL_ROW: &str = "backfill";
/// Row key of the status.
pub const STATUS_ROW: &str = "status";

/// Characters per `Seen<n>` property (a string property holds at most 64 KiB of UTF-16).
const SEEN_CHARS: usize = 30_000;
/// `Seen<n>` properties at most (an entity holds at most 1 MiB): about 28,000 rows of overlap.
const SEEN_PROPS: usize = 16;

/// A stored cursor and the ETag it was read with (`None`: not stored yet).
#[derive(Debug, Clone)]
pub struct StoredCursor {
    /// The state.
    pub state: CursorState,
    /// The ETag to write it back with.
    pub etag: Option<String>,
}

fn encode_seen(seen: &std::collections::BTreeSet<RowId>) -> Vec<String> {
    // Newest first, so a set too large for the row drops the oldest (re-stored idempotently).
    let mut props: Vec<String> = Vec::new();
    for (t, d) in seen.iter().rev() {
        let e = format!("{t:x}.{d:016x}");
        let full = props.len() == SEEN_PROPS;
        match props.last_mut() {
            Some(cur) if cur.len() + e.len() < SEEN_CHARS => {
                cur.push(',');
                cur.push_str(&e);
            }
            _ if full => break,
            _ => props.push(e),
        }
    }
    props
}

fn decode_seen(e: &Entity) -> std::collections::BTreeSet<RowId> {
    (0..SEEN_PROPS)
        .filter_map(|i| get_str(e, &format!("Seen{i}")))
        .flat_map(|s| s.split(','))
        .filter_map(|p| {
            let (t, d) = p.split_once('.')?;
            Some((
                i64::from_str_radix(t, 16).ok()?,
                u64::from_str_radix(d, 16).ok()?,
            ))
        })
        .collect()
}

/// Reads a workspace's cursor `row`; an absent one starts at `start`.
pub async fn load(
    tables: &dyn TableStore,
    workspace: &str,
    row: &str,
    start: OffsetDateTime,
) -> Result<StoredCursor, AzureError> {
    let row = get(tables, TABLE, workspace, row).await?;
    let e = row.as_ref().map(|r| &r.entity);
    let through = e.and_then(|e| get_str(e, "Through")).and_then(timestamp);
    Ok(StoredCursor {
        state: CursorState {
            through: tick_of(through.unwrap_or(start)),
            seen: e.map(decode_seen).unwrap_or_default(),
        },
        etag: row.map(|r| r.etag),
    })
}

/// Writes the cursor back (insert, else `If-Match`); `None` when another instance moved it.
pub async fn save(
    tables: &dyn TableStore,
    workspace: &str,
    row: &str,
    c: &StoredCursor,
) -> Result<Option<String>, AzureError> {
    let mut e = crate::tables::keyed(workspace, row);
    e.insert("Through".into(), json!(iso(c.state.through)));
    for (i, s) in encode_seen(&c.state.seen).into_iter().enumerate() {
        e.insert(format!("Seen{i}"), Value::String(s));
    }
    let mode = c.etag.clone().map_or(WriteMode::Insert, WriteMode::IfMatch);
    match write_creating_table(tables, TABLE, &e, mode).await {
        Ok(etag) => Ok(Some(etag)),
        Err(AzureError::Conflict | AzureError::PreconditionFailed | AzureError::NotFound) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Forgets a workspace's cursor `row` (`handler backfill --restart`): the next read starts over.
///
/// # Errors
/// Table errors (an absent row or table is not one).
pub async fn forget(tables: &dyn TableStore, workspace: &str, row: &str) -> Result<(), AzureError> {
    crate::tables::ops::remove(tables, TABLE, workspace, row, None).await
}

/// A workspace's last outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The workspace id.
    pub workspace: String,
    /// `None` when the last tick read it; else what failed (a missing role is named).
    pub error: Option<String>,
    /// When.
    pub at: String,
    /// Not queried again before this (the service's `Retry-After`, or this app's own back-off
    /// when a 429 names no wait).
    pub retry_after: Option<OffsetDateTime>,
    /// Ticks in a row that ended throttled (0 otherwise): the own back-off doubles with it.
    pub throttled: u32,
}

/// Upserts a workspace's status.
pub async fn put_status(tables: &dyn TableStore, s: &Status) -> Result<(), AzureError> {
    let e = crate::tables::entity(json!({
        "PartitionKey": s.workspace, "RowKey": STATUS_ROW, "At": s.at,
        "Error": s.error.as_deref().unwrap_or_default(), "Throttled": s.throttled,
        "RetryAfter": s.retry_after.map(format_utc).unwrap_or_default(),
    }));
    write_creating_table(tables, TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

fn status_of(e: &Entity) -> Option<Status> {
    let text = |n: &str| get_str(e, n).filter(|s| !s.is_empty()).map(str::to_owned);
    Some(Status {
        workspace: text("PartitionKey")?,
        error: text("Error"),
        at: text("At").unwrap_or_default(),
        retry_after: get_str(e, "RetryAfter").and_then(timestamp),
        throttled: e
            .get("Throttled")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    })
}

/// One workspace's status, if any.
pub async fn status(
    tables: &dyn TableStore,
    workspace: &str,
) -> Result<Option<Status>, AzureError> {
    Ok(get(tables, TABLE, workspace, STATUS_ROW)
        .await?
        .and_then(|r| status_of(&r.entity)))
}

/// Every workspace's status (for `/api/health`).
pub async fn statuses(tables: &dyn TableStore) -> Result<Vec<Status>, AzureError> {
    let rows = query_all(
        tables,
        TABLE,
        &Filter::str("RowKey", crate::tables::filter::Op::Eq, STATUS_ROW),
        1000,
    )
    .await?;
    Ok(rows.iter().filter_map(|r| status_of(&r.entity)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_round_trips_and_a_huge_set_keeps_the_newest() {
        let seen: std::collections::BTreeSet<RowId> =
            (0..100_000i64).map(|i| (i, i as u64 * 7919)).collect();
        let props = encode_seen(&seen);
        assert_eq!(props.len(), SEEN_PROPS);
        let mut e = Entity::new();
        for (i, p) in props.iter().enumerate() {
            assert!(p.len() <= SEEN_CHARS);
            e.insert(format!("Seen{i}"), json!(p));
        }
        let back = decode_seen(&e);
        assert!(back.len() > 20_000, "{}", back.len());
        assert!(back.contains(&(99_999, 99_999 * 7919)), "newest kept");
        assert!(!back.contains(&(0, 0)), "oldest dropped");
        let small: std::collections::BTreeSet<RowId> = [(5, 6), (1, u64::MAX)].into();
        let mut e = Entity::new();
        for (i, p) in encode_seen(&small).into_iter().enumerate() {
            e.insert(format!("Seen{i}"), json!(p));
        }
        assert_eq!(decode_seen(&e), small);
    }
}
