//! Reading a query's rows: one page with the token of the next ([`page`]), or one day partition
//! ([`day`]). Day partitions are read in order (never a table scan); a filter of
//! [`Listed::INDEXED`] reads its `recordingindex` partition instead, each hit re-checked against
//! its row. A token of another query, or a malformed one, is refused (docs/catalogue.md).

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::{StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};

use super::model::{Invalid, Listed, Query};
use crate::azure::AzureError;
use crate::catalogue::key::{INDEX_TABLE, RecordingKey, index_partition, index_time_key};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Filter, TableStore, get_str};

/// Row reads in flight per index-served page.
pub const READS_IN_FLIGHT: usize = 16;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Day partition.
    #[serde(rename = "d")]
    pub day: String,
    /// Rows of that day (in order) already returned.
    #[serde(rename = "s")]
    pub skip: usize,
    /// Index-served pages: the last index `RowKey` read.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// One page of rows and the token of the next (`None` at the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<R> {
    /// Matching rows, in order.
    pub rows: Vec<R>,
    /// The next page's token.
    pub next: Option<String>,
}

/// The page of `q` its continuation names (the first without one); inside, the continuation
/// refused when it is not one of this query's (nothing read then).
pub async fn page<R: Listed>(
    tables: &dyn TableStore,
    q: &Query,
) -> Result<Result<Page<R>, Invalid>, AzureError> {
    let fp = [R::SCOPE, &q.fingerprint()].concat();
    let days = R::days(q);
    let start = match q.continuation.as_ref().map(|t| decode(t, &fp, &days)) {
        Some(Err(invalid)) => return Ok(Err(invalid)),
        Some(Ok(start)) => Some(start),
        None => None,
    };
    let (rows, next) = match indexed::<R>(tables, q, start.clone()).await? {
        Some(found) => found,
        None => by_days(tables, q, &days, start).await?,
    };
    Ok(Ok(Page {
        rows,
        next: next.map(|c| encode(&c, &fp)),
    }))
}

/// Every row of day partition `day` that `q` matches, in order (a missing table is an empty day).
pub async fn day<R: Listed>(
    tables: &dyn TableStore,
    day: &str,
    q: &Query,
) -> Result<Vec<R>, AzureError> {
    let stored = query_all(tables, R::TABLE, &Filter::partition(day), usize::MAX).await?;
    let mut rows: Vec<R> = stored
        .iter()
        .filter_map(|s| R::from_entity(&s.entity))
        .filter(|r| q.matches(r))
        .collect();
    rows.sort_by_cached_key(|r| (r.time(), r.row_key()));
    Ok(rows)
}

type Found<R> = (Vec<R>, Option<Cursor>);

async fn by_days<R: Listed>(
    tables: &dyn TableStore,
    q: &Query,
    days: &[String],
    start: Option<Cursor>,
) -> Result<Found<R>, AzureError> {
    let first = start
        .as_ref()
        .and_then(|c| days.iter().position(|d| *d == c.day))
        .unwrap_or(0);
    let mut skip = start.map_or(0, |c| c.skip);
    let mut rows = Vec::new();
    for (i, d) in days.iter().enumerate().skip(first) {
        let matching = day::<R>(tables, d, q).await?;
        let room = q.limit - rows.len();
        if matching.len().saturating_sub(skip) > room {
            rows.extend(matching.into_iter().skip(skip).take(room));
            return Ok((rows, Some(cursor(d, skip + room, None))));
        }
        rows.extend(matching.into_iter().skip(skip));
        skip = 0;
        if rows.len() == q.limit {
            // Full exactly at a day's end: the next page starts at the next day, if any.
            return Ok((rows, days.get(i + 1).map(|d| cursor(d, 0, None))));
        }
    }
    Ok((rows, None))
}

/// The page through the index partition of `q`'s first indexed filter; `None` without one.
async fn indexed<R: Listed>(
    tables: &dyn TableStore,
    q: &Query,
    start: Option<Cursor>,
) -> Result<Option<Found<R>>, AzureError> {
    let Some(pk) = R::INDEXED
        .iter()
        .find_map(|k| q.wants(k).and_then(|v| index_partition(k, v)))
    else {
        return Ok(None);
    };
    let day = q.days().first().cloned().unwrap_or_default();
    let mut after = start.and_then(|c| c.after);
    let lower = match &after {
        Some(a) => Filter::str("RowKey", Op::Gt, a.clone()),
        None => Filter::str("RowKey", Op::Ge, index_time_key(q.from)),
    };
    let filter = Filter::And(vec![
        Filter::partition(&pk),
        lower,
        Filter::str("RowKey", Op::Lt, index_time_key(q.to)),
    ]);
    let (mut rows, mut seen, mut token) = (Vec::new(), HashSet::new(), None);
    loop {
        let page = match tables
            .query(INDEX_TABLE, Some(&filter), Some(1000), token)
            .await
        {
            Err(AzureError::NotFound) if rows.is_empty() && after.is_none() => return Ok(None),
            Err(AzureError::NotFound) => break,
            other => other?,
        };
        let hits: Vec<(String, Option<RecordingKey>)> = page
            .items
            .iter()
            .filter_map(|s| {
                let rk = get_str(&s.entity, "RowKey")?.to_owned();
                Some((rk, RecordingKey::of_row(&s.entity)))
            })
            .collect();
        let read: Vec<(String, Option<(RecordingKey, R)>)> = futures::stream::iter(hits)
            .map(|(rk, key)| async move {
                let row = match key {
                    Some(k) => tables
                        .get(R::TABLE, &k.pk, &k.rk)
                        .await?
                        .and_then(|s| R::from_entity(&s.entity))
                        .map(|r| (k, r)),
                    None => None,
                };
                Ok::<_, AzureError>((rk, row))
            })
            .buffered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        let hits = read.len();
        for (i, (rk, row)) in read.into_iter().enumerate() {
            after = Some(rk);
            if let Some((key, row)) = row.filter(|(_, r)| q.matches(r))
                && seen.insert(key)
            {
                rows.push(row);
            }
            if rows.len() == q.limit {
                // No token after the last index row: a client never fetches an empty last page.
                let more = i + 1 < hits || page.next.is_some();
                return Ok(Some((rows, more.then(|| cursor(&day, 0, after)))));
            }
        }
        match page.next {
            Some(n) => token = Some(n),
            None => break,
        }
    }
    Ok(Some((rows, None)))
}

fn cursor(day: &str, skip: usize, after: Option<String>) -> Cursor {
    Cursor {
        day: day.to_owned(),
        skip,
        after,
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(flatten)]
    cursor: Cursor,
    f: String,
}

/// The token of `cursor` for the query with fingerprint `fp`.
pub fn encode(cursor: &Cursor, fp: &str) -> String {
    let wire = Wire {
        cursor: cursor.clone(),
        f: fp.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
}

/// The cursor of a token issued for fingerprint `fp` over `days`; an error for any other token.
pub fn decode(token: &str, fp: &str, days: &[String]) -> Result<Cursor, Invalid> {
    let bad = || Invalid::new("continuation", "invalid or belongs to another query");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if wire.f != fp || !days.contains(&wire.cursor.day) {
        return Err(bad());
    }
    Ok(wire.cursor)
}
