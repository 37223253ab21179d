//! Index rows of table `recordingindex`: the catalogue's filters by VM and by user without reading
//! every day partition. A row (`vm~`/`user~` + base64url value, sort time `~` id) carries only the
//! recording id; hits are re-checked, so a stale row costs a read, never a wrong row. The join pass
//! writes them before the recordings. See docs/catalogue.md.

use std::collections::{BTreeMap, BTreeSet};

use super::query::Listed;
use super::recording::Recording;
use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, is_digest, key};
use crate::tables::{Entity, TableStore, get_str};

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

/// The `(PartitionKey, RowKey)` pairs recording `r` is indexed under (sorted, unique).
pub fn keys(r: &Recording) -> Vec<(String, String)> {
    // An id too long for the room the sort time leaves is not indexed: a digest names no row.
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

/// Upserts index rows `keys`, batched per partition.
pub async fn write(
    tables: &dyn TableStore,
    keys: &BTreeSet<(String, String)>,
) -> Result<(), AzureError> {
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
pub async fn remove(
    tables: &dyn TableStore,
    keys: &BTreeSet<(String, String)>,
) -> Result<(), AzureError> {
    for (pk, rk) in keys {
        match tables.delete(INDEX_TABLE, pk, rk, None).await {
            Ok(()) | Err(AzureError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
