//! The paging engine: one partition query per day of the range, rows sorted within the day; a
//! `vm` or `user` filter on recordings is served from index rows instead ([`super::indexed`]).
//!
//! **Strategy.** `recordings` is partitioned by creation day, so a range of N days is N + 2
//! partition-scoped queries (`PartitionKey eq 'YYYY-MM-DD'`, 1000 rows per round trip), never a
//! table scan: the day before and the day after are read too, because a row matches by its sort
//! time, which can lie on the day next to its creation day ([`Query::recording_days`]). A day's
//! matching rows are sorted by session start (fallback `BlobCreated`, then row key for a total
//! order); a page takes rows day by day until it is full, and the cursor records the day and how
//! many of its sorted rows were already returned. **Limits.** Order is exact within a day and by
//! creation day across days (a session starting before midnight whose recording was written after
//! midnight sorts under the later day). A session recorded more than a day after it began is found
//! only by ranges that reach its recording's creation day. A page re-reads its first day's
//! partition, so a request costs ⌈rows of the day / 1000⌉ round trips per day touched. Filters are
//! evaluated in the handler (case-insensitive), so they do not reduce partition reads.

use time::OffsetDateTime;

use super::problem::ApiError;
use super::query::Query;
use super::token::{Cursor, Found};
use crate::catalogue::recording::sort_time;
use crate::tables::{Entity, Filter, TableStore, get_str, ops};

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
    let view = View {
        keep: &|e| q.matches(e),
        time: sort_time,
    };
    search_with(tables, table, &q.recording_days(), q.limit, start, &view).await
}

/// How a table is read by [`search_with`]: which rows match and the time they sort by.
pub struct View<'a> {
    /// True for rows to return.
    pub keep: &'a (dyn Fn(&Entity) -> bool + Sync),
    /// Sort time of a row (ties broken by `RowKey`).
    pub time: fn(&Entity) -> Option<OffsetDateTime>,
}

/// The paging engine over day partitions `days` of any table: at most `limit` rows from `start`.
///
/// # Errors
/// 503 when storage fails.
pub async fn search_with(
    tables: &dyn TableStore,
    table: &str,
    days: &[String],
    limit: usize,
    start: Option<Cursor>,
    view: &View<'_>,
) -> Result<Found, ApiError> {
    let first = start
        .as_ref()
        .and_then(|c| days.iter().position(|d| *d == c.day))
        .unwrap_or(0);
    let mut skip = start.map_or(0, |c| c.skip);
    let mut rows = Vec::new();
    for (i, day) in days.iter().enumerate().skip(first) {
        let matching = view_rows(tables, table, day, view).await?;
        let available = matching.len().saturating_sub(skip);
        let room = limit - rows.len();
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
        if rows.len() == limit {
            // Full exactly at a day's end: continue at the next day, if any.
            return Ok(Found {
                rows,
                next: days.get(i + 1).map(|d| Cursor {
                    day: d.clone(),
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
    let view = View {
        keep: &|e| q.matches(e),
        time: sort_time,
    };
    view_rows(tables, table, day, &view).await
}

/// Every row of one day partition that `view` keeps, sorted by its time then `RowKey` (one page
/// of a listing is a slice of these).
///
/// # Errors
/// 503 when storage fails; a missing table is an empty day.
pub async fn view_rows(
    tables: &dyn TableStore,
    table: &str,
    day: &str,
    view: &View<'_>,
) -> Result<Vec<Entity>, ApiError> {
    let filter = Filter::partition(day);
    let mut token = None;
    let mut out = Vec::new();
    loop {
        let page = ops::page(tables, table, &filter, 1000, token).await?;
        out.extend(
            page.items
                .into_iter()
                .map(|s| s.entity)
                .filter(|e| (view.keep)(e)),
        );
        match page.next {
            Some(n) => token = Some(n),
            None => break,
        }
    }
    let t = view.time;
    out.sort_by(|a, b| (t(a), get_str(a, "RowKey")).cmp(&(t(b), get_str(b, "RowKey"))));
    Ok(out)
}
