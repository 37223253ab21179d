//! The paging engine: one partition query per day of the range, rows sorted within the day; a
//! `vm` or `user` filter is served from index rows instead ([`super::indexed`]).
//!
//! **Strategy.** `recordings` is partitioned by creation day, so a range of N days is N
//! partition-scoped queries (`PartitionKey eq 'YYYY-MM-DD'`, 1000 rows per round trip), never a
//! table scan. A day's matching rows are sorted by session start (fallback `BlobCreated`, then row
//! key for a total order); a page takes rows day by day until it is full, and the cursor records the
//! day and how many of its sorted rows were already returned. **Limits.** Order is exact within a
//! day and by creation day across days (a session starting before midnight whose recording was
//! written after midnight sorts under the later day). A page re-reads its first day's partition, so
//! a request costs ⌈rows of the day / 1000⌉ round trips per day touched. Filters are evaluated in the
//! handler (case-insensitive), so they do not reduce partition reads.

use super::problem::ApiError;
use super::query::{Query, sort_time};
use super::token::Cursor;
use crate::tables::{Entity, Filter, TableError, TableStore, get_str};

/// A page of rows and the cursor of the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Matching rows, in order.
    pub rows: Vec<Entity>,
    /// Where the next page starts; `None` at the end.
    pub next: Option<Cursor>,
}

/// Reads one page of `table` for `q`, starting at `start` (the first day when `None`).
///
/// # Errors
/// 503 when storage fails.
pub async fn search(
    tables: &dyn TableStore,
    table: &str,
    q: &Query,
    start: Option<Cursor>,
) -> Result<Found, ApiError> {
    if let Some(pk) = super::indexed::partition_for(q)
        && let Some(found) = super::indexed::search(tables, table, q, &pk, start.clone()).await?
    {
        return Ok(found);
    }
    let days = q.days();
    let first = start
        .as_ref()
        .and_then(|c| days.iter().position(|d| *d == c.day))
        .unwrap_or(0);
    let mut skip = start.map_or(0, |c| c.skip);
    let mut rows = Vec::new();
    for day in &days[first..] {
        let matching = day_rows(tables, table, day, q).await?;
        let available = matching.len().saturating_sub(skip);
        let room = q.limit - rows.len();
        if available > room {
            rows.extend(matching.into_iter().skip(skip).take(room));
            let next = Cursor {
                day: day.clone(),
                skip: skip + room,
                after: None,
            };
            return Ok(Found {
                rows,
                next: Some(next),
            });
        }
        rows.extend(matching.into_iter().skip(skip));
        skip = 0;
        if rows.len() == q.limit {
            // Full exactly at a day's end: continue at the next day, if any.
            let next_day = days.iter().skip_while(|d| *d != day).nth(1).cloned();
            return Ok(Found {
                rows,
                next: next_day.map(|day| Cursor {
                    day,
                    skip: 0,
                    after: None,
                }),
            });
        }
    }
    Ok(Found { rows, next: None })
}

/// Every row of one day partition that matches, sorted.
///
/// # Errors
/// 503 when storage fails; a missing table is an empty day.
pub async fn day_rows(
    tables: &dyn TableStore,
    table: &str,
    day: &str,
    q: &Query,
) -> Result<Vec<Entity>, ApiError> {
    let filter = Filter::partition(day);
    let mut token = None;
    let mut out = Vec::new();
    loop {
        let page = match tables.query(table, Some(&filter), Some(1000), token).await {
            Err(TableError::NotFound) => return Ok(out),
            other => other?,
        };
        out.extend(
            page.items
                .into_iter()
                .map(|s| s.entity)
                .filter(|e| q.matches(e)),
        );
        match page.next {
            Some(n) => token = Some(n),
            None => break,
        }
    }
    out.sort_by(|a, b| {
        (sort_time(a), get_str(a, "RowKey")).cmp(&(sort_time(b), get_str(b, "RowKey")))
    });
    Ok(out)
}
