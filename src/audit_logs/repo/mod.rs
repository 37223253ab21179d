//! Tables of the audit-log domain (logical names; the table client applies `TABLE_PREFIX`).
//!
//! | table | PK | RK | purpose |
//! |---|---|---|---|
//! | `auditcursors` | hour day `YYYY-MM-DD` | base64url(blob name) | tail position per `PT1H.json` |
//! | `sessions` | tunnelId | `session` | one merged row per session |
//! | `sessionwindows` | session start day | tunnelId | time-bounded index for heuristic joins and detections; joins still pending (`JoinFrom`/`JoinUntil`) |
//! | `recordingkeys` | GUID found in a recording | recording id | exact-key joins from the session side |
//! | `failedlogins` | base64url(window, dimension, value, VM) | tunnelId | idempotent failed-login counts |
//! | `failedlogins` | `~pending` | an attempts partition | burst checks still to run (cleared after a successful check) |
//! | `auditstate` | `state` | fact name | dedupe markers of episode notifications |
//!
//! Every write is a read-modify-write with ETag conditions ([`update`]), so concurrent writers merge
//! instead of overwriting each other.

mod cursor;
pub mod windows;

use std::sync::Arc;

pub use cursor::{Cursor, CursorRepo};
pub use windows::{WindowRow, window_of};

use crate::catalogue::repo::write_creating_table;
use crate::tables::{Entity, Stored, TableError, TableStore, WriteMode};

/// Table of tail cursors.
pub const CURSORS_TABLE: &str = "auditcursors";
/// Table of sessions.
pub const SESSIONS_TABLE: &str = "sessions";
/// Index of sessions by start day.
pub const WINDOWS_TABLE: &str = "sessionwindows";
/// Index of recordings by the GUIDs in their name/metadata.
pub const RECORDING_KEYS_TABLE: &str = "recordingkeys";
/// Failed logins per window and dimension.
pub const FAILED_TABLE: &str = "failedlogins";
/// Dedupe markers.
pub const STATE_TABLE: &str = "auditstate";

/// Attempts of an optimistic read-modify-write before giving up (as a retryable error).
const ATTEMPTS: usize = 6;

/// Reads `(table, pk, rk)`, lets `change` build the new entity from the current one (`None`: nothing
/// to write), and writes it conditionally (insert when absent, `If-Match` otherwise), retrying on
/// races. Returns the entity now stored and its ETag, or the current one when nothing changed.
///
/// # Errors
/// Table errors; `Transient` when the row kept changing.
pub async fn update(
    tables: &Arc<dyn TableStore>,
    table: &str,
    pk: &str,
    rk: &str,
    change: &mut (dyn FnMut(Option<&Entity>) -> Option<Entity> + Send),
) -> Result<Option<Stored>, TableError> {
    for _ in 0..ATTEMPTS {
        let current = match tables.get(table, pk, rk).await {
            Err(TableError::NotFound) => None,
            other => other?,
        };
        let Some(mut next) = change(current.as_ref().map(|s| &s.entity)) else {
            return Ok(current);
        };
        next.insert("PartitionKey".into(), pk.into());
        next.insert("RowKey".into(), rk.into());
        let mode = current
            .as_ref()
            .map_or(WriteMode::Insert, |s| WriteMode::IfMatch(s.etag.clone()));
        match write_creating_table(tables.as_ref(), table, &next, mode).await {
            Ok(etag) => {
                crate::tables::strip_annotations(&mut next);
                return Ok(Some(Stored { entity: next, etag }));
            }
            Err(TableError::Conflict | TableError::PreconditionFailed | TableError::NotFound) => {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(TableError::Transient(format!(
        "{table} row kept changing under {ATTEMPTS} attempts"
    )))
}

/// Reads one row (absent table = absent row).
///
/// # Errors
/// Table errors.
pub async fn get(
    tables: &Arc<dyn TableStore>,
    table: &str,
    pk: &str,
    rk: &str,
) -> Result<Option<Stored>, TableError> {
    match tables.get(table, pk, rk).await {
        Err(TableError::NotFound) => Ok(None),
        other => other,
    }
}

/// All rows matching `filter`, at most `limit` (absent table = none).
///
/// # Errors
/// Table errors.
pub async fn query_all(
    tables: &Arc<dyn TableStore>,
    table: &str,
    filter: &crate::tables::Filter,
    limit: usize,
) -> Result<Vec<Stored>, TableError> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = match tables.query(table, Some(filter), Some(1000), next).await {
            Err(TableError::NotFound) => return Ok(out),
            other => other?,
        };
        out.extend(page.items);
        if out.len() >= limit || page.next.is_none() {
            out.truncate(limit);
            return Ok(out);
        }
        next = page.next;
    }
}
