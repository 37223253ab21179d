//! Retiring the outbox's rows: a sent row removed if unchanged (an open bucket), a row a later
//! bucket holds again found and retired unsent, and a closed bucket every table has passed
//! deleted whole.

use std::collections::BTreeSet;

use super::row::Unsent;
use crate::azure::AzureError;
use crate::export::table::Table;
use crate::tables::filter::Op;
use crate::tables::ops::page;
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

/// The keys of `rows` (read from one bucket of `table`) that a bucket of `later` holds too: the
/// same row recorded again after a quarter hour turned. The later bucket's row is the one to send
/// (as a second upsert into one bucket replaces the first), so these are retired unsent. One query
/// per later bucket over the rows' key range (more pages only where that range holds more).
///
/// # Errors
/// Table errors (an absent table holds nothing).
pub async fn superseded(
    tables: &dyn TableStore,
    table: Table,
    later: &[String],
    rows: &[Unsent],
) -> Result<BTreeSet<String>, AzureError> {
    let mut found = BTreeSet::new();
    let keys: BTreeSet<&str> = rows.iter().map(|p| p.row_key.as_str()).collect();
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Ok(found);
    };
    let filter = Filter::And(vec![
        Filter::partition(table.key()),
        Filter::str("RowKey", Op::Ge, *first),
        Filter::str("RowKey", Op::Le, *last),
    ]);
    for name in later {
        let mut next = None;
        loop {
            let p = page(tables, name, &filter, 1000, next).await?;
            let held = p.items.iter().filter_map(|s| get_str(&s.entity, "RowKey"));
            found.extend(held.filter(|k| keys.contains(k)).map(str::to_owned));
            next = p.next;
            if next.is_none() {
                break;
            }
        }
    }
    Ok(found)
}

/// Removes a sent row of the outbox table `name` if it is still as read: `false` when it changed
/// since (it stays).
///
/// # Errors
/// Table errors.
pub async fn remove(
    tables: &dyn TableStore,
    name: &str,
    table: Table,
    row: &Unsent,
) -> Result<bool, AzureError> {
    match tables
        .delete(name, table.key(), &row.row_key, Some(&row.etag))
        .await
    {
        Ok(()) | Err(AzureError::NotFound) => Ok(true),
        Err(AzureError::PreconditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the sent `rows` in transactions of 100, each row only if unchanged: `(removed,
/// changed since read, failed)`. A transaction refused because a row in it changed or went
/// (`412`, `404`: all or nothing, so nothing of it was removed) is halved and each half tried
/// again, down to single rows: one changed row among 100 costs about 14 calls, not 101. Any other
/// refusal is redone row by row.
pub async fn remove_all(
    tables: &dyn TableStore,
    name: &str,
    table: Table,
    rows: &[Unsent],
) -> (usize, usize, usize) {
    let (mut removed, mut changed, mut failed) = (0, 0, 0);
    let mut parts: Vec<&[Unsent]> = rows.chunks(crate::tables::MAX_BATCH).rev().collect();
    while let Some(part) = parts.pop() {
        let refused = if part.len() > 1 {
            let deletes: Vec<(Entity, WriteMode)> = part
                .iter()
                .map(|p| {
                    let e = crate::tables::keyed(table.key(), p.row_key.clone());
                    (e, WriteMode::Delete(p.etag.clone()))
                })
                .collect();
            match tables.batch(name, &deletes).await {
                Ok(_) => {
                    removed += part.len();
                    continue;
                }
                Err(e) => Some(e),
            }
        } else {
            None
        };
        if let Some(AzureError::PreconditionFailed | AzureError::NotFound) = refused {
            let (first, second) = part.split_at(part.len() / 2);
            parts.push(second);
            parts.push(first);
            continue;
        }
        for p in part {
            match remove(tables, name, table, p).await {
                Ok(true) => removed += 1,
                Ok(false) => changed += 1,
                Err(_) => failed += 1,
            }
        }
    }
    (removed, changed, failed)
}

/// Deletes the closed `buckets` their table's cursor has passed (a closed bucket takes no
/// writes, so what passed it stays passed): one call a bucket however many rows it held, all at
/// once. The buckets deleted.
///
/// # Errors
/// Table errors.
pub async fn drop_sent(
    tables: &dyn TableStore,
    buckets: &[String],
) -> Result<Vec<String>, AzureError> {
    let deleted = futures::future::join_all(buckets.iter().map(|b| tables.delete_table(b))).await;
    let mut dropped = Vec::new();
    for (b, deleted) in buckets.iter().zip(deleted) {
        match deleted {
            Ok(()) | Err(AzureError::NotFound) => dropped.push(b.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(dropped)
}

#[cfg(test)]
#[path = "retire_tests.rs"]
mod tests;
