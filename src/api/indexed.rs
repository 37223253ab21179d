//! Index-served pages: a `vm` or `user` filter reads one `recordingindex` partition by `RowKey`
//! (sort-time) range instead of every day partition of the range (see [`crate::catalogue::index`]).
//!
//! Every hit is a point read of its catalogue row, re-checked with all the query's filters, so a
//! stale index row (a crash between a join's index and row writes, a re-joined recording) costs one
//! read and never shows a wrong row. Order: by sort time across the whole range (the day-partition
//! path orders by creation day first). Cost: ⌈hits / 1000⌉ index queries + one point read per hit
//! (up to [`READS_IN_FLIGHT`] at a time). When the index table does not exist yet the caller falls
//! back to day partitions.

use futures::{StreamExt as _, TryStreamExt as _};

use super::problem::ApiError;
use super::query::Query;
use super::token::{Cursor, Found};
use crate::catalogue::index::{self, INDEX_TABLE};
use crate::catalogue::recording::RecordingKey;
use crate::tables::filter::Op;
use crate::tables::{Entity, Filter, TableError, TableStore, get_str};

/// Catalogue point reads in flight per page.
pub const READS_IN_FLIGHT: usize = 16;

/// The index partition a query can be served from: its `vm` filter, else its `user` filter.
pub fn partition_for(q: &Query) -> Option<String> {
    ["vm", "user"].iter().find_map(|kind| {
        q.filters
            .iter()
            .find(|(p, _)| p == kind)
            .and_then(|(_, v)| index::partition(kind, v))
    })
}

/// One page through the index partition `pk`; `Ok(None)` when the index table does not exist.
///
/// # Errors
/// 503 when storage fails.
pub async fn search(
    tables: &dyn TableStore,
    table: &str,
    q: &Query,
    pk: &str,
    start: Option<Cursor>,
) -> Result<Option<Found>, ApiError> {
    let day = q.days().first().cloned().unwrap_or_default();
    let mut after = start.and_then(|c| c.after);
    let mut rows: Vec<Entity> = Vec::new();
    let mut token = None;
    let lower = match &after {
        Some(a) => Filter::str("RowKey", Op::Gt, a.clone()),
        None => Filter::str("RowKey", Op::Ge, index::time_key(q.from)),
    };
    let filter = Filter::And(vec![
        Filter::partition(pk),
        lower,
        Filter::str("RowKey", Op::Lt, index::time_key(q.to)),
    ]);
    loop {
        let page = match tables
            .query(INDEX_TABLE, Some(&filter), Some(1000), token)
            .await
        {
            Err(TableError::NotFound) if rows.is_empty() && after.is_none() => return Ok(None),
            Err(TableError::NotFound) => break,
            other => other?,
        };
        let hits: Vec<(String, Entity)> = page
            .items
            .iter()
            .filter_map(|s| Some((get_str(&s.entity, "RowKey")?.to_owned(), s.entity.clone())))
            .collect();
        let read: Vec<(String, Option<Entity>)> = futures::stream::iter(hits)
            .map(|(rk, e)| async move {
                let row = match index::recording_id(&e).and_then(RecordingKey::parse) {
                    Some(k) => tables.get(table, &k.pk, &k.rk).await?.map(|s| s.entity),
                    None => None,
                };
                Ok::<_, TableError>((rk, row))
            })
            .buffered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        let hits = read.len();
        for (i, (rk, row)) in read.into_iter().enumerate() {
            after = Some(rk);
            let Some(row) = row.filter(|r| q.matches(r)) else {
                continue;
            };
            if !rows.iter().any(|r| same_row(r, &row)) {
                rows.push(row);
            }
            if rows.len() == q.limit {
                // No token after the last index row: a client never fetches an empty last page.
                let more = i + 1 < hits || page.next.is_some();
                let next = more.then_some(Cursor {
                    day,
                    skip: 0,
                    after,
                });
                return Ok(Some(Found { rows, next }));
            }
        }
        match page.next {
            Some(n) => token = Some(n),
            None => break,
        }
    }
    Ok(Some(Found { rows, next: None }))
}

fn same_row(a: &Entity, b: &Entity) -> bool {
    get_str(a, "PartitionKey") == get_str(b, "PartitionKey")
        && get_str(a, "RowKey") == get_str(b, "RowKey")
}
