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
//! **Writes.** VM and user are only known from the join, so the join pass writes the rows of every
//! recording it joins or that fell due ([`write()`], batched per partition) before it writes the
//! recordings (a crash in between leaves a harmless extra row, never a missing one), and deletes
//! those a recording no longer has after ([`remove`]). A recording `RecordingCreated` joined exactly
//! is due at once, so its rows follow within a pass.
//!
//! **Limits.** A single VM or user is one partition (~2,000 entities/s per partition; a busy VM with
//! thousands of sessions a day is still one ranged query per 1000 rows). A value longer than
//! [`MAX_VALUE`] bytes is not indexed (the API rejects filter values over 512 bytes anyway).

use std::collections::{BTreeMap, BTreeSet};

use super::query::Listed;
use super::recording::Recording;
use crate::dates::format_utc_millis;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, is_digest, key};
use crate::tables::{Entity, TableError, TableStore, get_str};

/// Table of index rows.
pub const INDEX_TABLE: &str = "recordingindex";
/// Longest value indexed (its key stays well under the 1 KiB key limit).
pub const MAX_VALUE: usize = 700;

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

/// The `(PartitionKey, RowKey)` pairs recording `r` is indexed under (sorted, unique): one per
/// value of its indexed filters (an unjoined row has none).
pub fn keys(r: &Recording) -> Vec<(String, String)> {
    // The id through the one encoder, in the room the sort time and `~` leave (25 bytes); an id
    // too long for it (a blob path near the key limit) is not indexed: a digest names no row.
    let id = r.key.id_key(MAX_KEY_BYTES - 25);
    if is_digest(&id) {
        return Vec::new();
    }
    let row = format!("{}~{id}", time_key(r.time()));
    let mut out: Vec<(String, String)> = Recording::INDEXED
        .iter()
        .flat_map(|kind| r.values(kind).into_iter().map(move |v| (*kind, v)))
        .filter_map(|(kind, v)| partition(kind, v))
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

/// Upserts index rows `keys`: one entity group transaction per partition and 100 rows (a VM's or
/// user's rows share a partition, so a pass's recordings cost a few calls, not one per row).
///
/// # Errors
/// Table errors.
pub async fn write(
    tables: &dyn TableStore,
    keys: &BTreeSet<(String, String)>,
) -> Result<(), TableError> {
    let mut by_pk: BTreeMap<&str, Vec<Entity>> = BTreeMap::new();
    for (pk, rk) in keys {
        by_pk.entry(pk).or_default().push(entity(pk, rk));
    }
    for rows in by_pk.values() {
        crate::tables::ops::upsert_batched(tables, INDEX_TABLE, rows).await?;
    }
    Ok(())
}

/// Deletes index rows `keys` (already gone is fine).
///
/// # Errors
/// Table errors.
pub async fn remove(
    tables: &dyn TableStore,
    keys: &BTreeSet<(String, String)>,
) -> Result<(), TableError> {
    for (pk, rk) in keys {
        match tables.delete(INDEX_TABLE, pk, rk, None).await {
            Ok(()) | Err(TableError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
