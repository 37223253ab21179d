//! Index rows of table `recordingindex`: the catalogue's filters by VM and by user without reading
//! every day partition of the range.
//!
//! **Keys.** `PartitionKey` = `vm~<base64url(lower-case value)>` for `TargetVm` and
//! `TargetResourceId`, `user~<base64url(lower-case value)>` for `UserName` and `UserEmail` (the
//! values the API's `vm` / `user` filters compare, case-insensitively); `RowKey` =
//! `<sort time, RFC 3339 with milliseconds>~<recording id>`, so one partition lists a VM's or user's
//! recordings in session-start order and a time range is a `RowKey` range. The row carries only
//! `RecordingId`: the catalogue row stays the single source of truth and every hit is re-checked
//! against it, so a stale index row can cost a read but never return a wrong row.
//!
//! **Writes.** VM and user are only known after the audit-log join, so the join writes the rows:
//! [`upsert`] (or [`upsert_added`], for the keys the stored row lacks) before the catalogue row is
//! rewritten (a crash in between leaves a harmless extra row, never a missing one), [`remove_stale`]
//! after it, for keys the new row no longer has.
//! `RecordingCreated` itself writes none (its storage-call budget is unchanged). Rows joined before
//! the index existed are indexed by `handler backfill` ([`ensure`]).
//!
//! **Limits.** A single VM or user is one partition (~2,000 entities/s per partition; a busy VM with
//! thousands of sessions a day is still one ranged query per 1000 rows). A value longer than
//! [`MAX_VALUE`] bytes is not indexed (the API rejects filter values over 512 bytes anyway).

mod deferred;

pub use deferred::Deferred;

use crate::dates::format_utc_millis;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, is_digest, key};
use crate::tables::{Entity, TableError, TableStore, WriteMode, get_str};

/// Table of index rows.
pub const INDEX_TABLE: &str = "recordingindex";
/// Longest value indexed (its key stays well under the 1 KiB key limit).
pub const MAX_VALUE: usize = 700;

/// Which catalogue properties feed which index (the API's `vm` and `user` filters).
pub const INDEXED: &[(&str, &[&str])] = &[
    ("vm", &["TargetVm", "TargetResourceId"]),
    ("user", &["UserName", "UserEmail"]),
];

/// The partition of filter `kind` (`vm` / `user`) for a value; `None` when it cannot be indexed.
pub fn partition(kind: &str, value: &str) -> Option<String> {
    let v = value.trim().to_lowercase();
    let room = MAX_KEY_BYTES - kind.len() - 1;
    (!v.is_empty() && v.len() <= MAX_VALUE)
        .then(|| [kind, "~", &key(&v, Spelling::Encoded, room)].concat())
}

/// The `RowKey` prefix of a sort time: rows at or after `t` have keys `>=` this.
pub fn time_key(t: time::OffsetDateTime) -> String {
    format_utc_millis(t)
}

/// The `(PartitionKey, RowKey)` pairs a catalogue entity should be indexed under (sorted, unique).
/// Empty for rows without a recording id or sort time (unjoined rows carry no VM or user).
pub fn keys(e: &Entity) -> Vec<(String, String)> {
    let (Some(pk), Some(rk), Some(t)) = (
        get_str(e, "PartitionKey"),
        get_str(e, "RowKey"),
        crate::catalogue::model::sort_time(e),
    ) else {
        return Vec::new();
    };
    // The id through the one encoder, in the room the sort time and `~` leave (25 bytes); an id
    // too long for it (a blob path near the key limit) is not indexed: a digest names no row.
    let id = key(
        &[pk, "~", rk].concat(),
        Spelling::Verbatim,
        MAX_KEY_BYTES - 25,
    );
    if is_digest(&id) {
        return Vec::new();
    }
    let row = format!("{}~{id}", time_key(t));
    let mut out: Vec<(String, String)> = INDEXED
        .iter()
        .flat_map(|(kind, props)| props.iter().map(move |p| (*kind, *p)))
        .filter_map(|(kind, p)| get_str(e, p).and_then(|v| partition(kind, v)))
        .map(|pk| (pk, row.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The recording id an index row points at.
pub fn recording_id(e: &Entity) -> Option<&str> {
    get_str(e, "RecordingId")
}

fn entity(pk: &str, rk: &str) -> Entity {
    let mut e = Entity::new();
    e.insert("PartitionKey".into(), pk.into());
    e.insert("RowKey".into(), rk.into());
    let id = rk.split_once('~').map_or("", |(_, id)| id);
    e.insert("RecordingId".into(), id.into());
    e
}

/// Upserts every index row of `row` (idempotent).
///
/// # Errors
/// Table errors.
pub async fn upsert(tables: &dyn TableStore, row: &Entity) -> Result<(), TableError> {
    write_all(tables, keys(row)).await
}

/// The index rows `new` has and `old` (the row as stored, about to be replaced by `new`) has not.
pub fn added(old: &Entity, new: &Entity) -> Vec<(String, String)> {
    let had = keys(old);
    keys(new).into_iter().filter(|k| !had.contains(k)).collect()
}

/// Upserts the index rows `new` has and `old` (the row as stored, about to be replaced by `new`)
/// has not: the rows of keys both have were written before `old` was, so a rewrite that keeps a
/// recording's VM, user and sort time writes no index row.
///
/// # Errors
/// Table errors.
pub async fn upsert_added(
    tables: &dyn TableStore,
    old: &Entity,
    new: &Entity,
) -> Result<(), TableError> {
    write_all(tables, added(old, new)).await
}

async fn write_all(tables: &dyn TableStore, keys: Vec<(String, String)>) -> Result<(), TableError> {
    for (pk, rk) in keys {
        crate::tables::ops::write_creating_table(
            tables,
            INDEX_TABLE,
            &entity(&pk, &rk),
            WriteMode::Upsert,
        )
        .await?;
    }
    Ok(())
}

/// Deletes the index rows `old` had and `new` no longer has (already gone is fine).
///
/// # Errors
/// Table errors.
pub async fn remove_stale(
    tables: &dyn TableStore,
    old: &Entity,
    new: &Entity,
) -> Result<(), TableError> {
    let keep = keys(new);
    for (pk, rk) in keys(old).into_iter().filter(|k| !keep.contains(k)) {
        match tables.delete(INDEX_TABLE, &pk, &rk, None).await {
            Ok(()) | Err(TableError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes the index rows of `row` that are missing (reads first, so a repeated run writes
/// nothing). Returns how many were written.
///
/// # Errors
/// Table errors.
pub async fn ensure(tables: &dyn TableStore, row: &Entity) -> Result<usize, TableError> {
    let mut missing = Vec::new();
    for (pk, rk) in keys(row) {
        match tables.get(INDEX_TABLE, &pk, &rk).await {
            Ok(Some(_)) => {}
            Ok(None) | Err(TableError::NotFound) => missing.push((pk, rk)),
            Err(e) => return Err(e),
        }
    }
    let written = missing.len();
    write_all(tables, missing).await?;
    Ok(written)
}

#[cfg(test)]
mod tests;
