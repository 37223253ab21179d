//! One pass's reads of `AzureActivity` from each workspace the app reads, filtered in the query to
//! the watched subscriptions: the door rows over the use window, paged through to its end
//! (keyset on `TimeGenerated`: each page asks for the rows from the last page's last instant on,
//! and the rows already read at that instant are skipped), and each subscription's latest row over
//! the silence window. A read cut short (more pages than [`MAX_PAGES`], more rows at one instant
//! than a page holds, or a page still answered partially at [`MIN_PAGE`] rows) says so in
//! [`Read::incomplete`]: the rows read so far are kept, the caller decides nothing from their
//! absence. A broken answer or a failed query is an error; a query the service timed out (504) is
//! asked once more.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use time::OffsetDateTime;

use super::events::{ActivityRow, PAGE_ROWS, door_query, subscriptions_query};
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::loganalytics::row::text;
use crate::loganalytics::{Item, LogsQuery};

/// Most pages of door rows one workspace is read in, a pass (500,000 rows at [`PAGE_ROWS`]).
pub const MAX_PAGES: usize = 100;
/// A page answered partially (the answer's 64 MB) is asked again at half its rows, down to this.
pub const MIN_PAGE: usize = 500;

/// What the workspaces answered over one window.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// The door operations' rows, oldest first.
    pub rows: Vec<ActivityRow>,
    /// Each subscription's latest row of the silence window (lower-case id).
    pub latest: BTreeMap<String, OffsetDateTime>,
    /// Why rows of the window were left unread (empty: every row was read).
    pub incomplete: Vec<String>,
}

/// Runs `query` over `timespan` on `workspace`, giving each answered row to `each`; the
/// partial answer's reason when rows were left out.
///
/// # Errors
/// The query failed, or its answer broke off.
pub async fn rows(
    logs: &dyn LogsQuery,
    workspace: &str,
    query: &str,
    timespan: &str,
    each: &mut (dyn FnMut(&[String], &[Value]) + Send),
) -> Result<Option<String>, AzureError> {
    let wait = std::time::Duration::from_secs(30);
    // The service gave up within the wait (504): asked once more, with the longer wait. (429s
    // and transient failures are retried inside the client, after their `Retry-After`.)
    let mut answer = match logs.query(workspace, query, timespan, wait).await {
        Err(AzureError::ServerTimeout { .. }) => {
            logs.query(workspace, query, timespan, 2 * wait).await?
        }
        other => other?,
    };
    let mut columns = Vec::new();
    while let Some(item) = answer.next().await {
        match item {
            Item::Columns(c) => columns = c,
            Item::Row(r) => each(&columns, &r),
            // A partial answer misses rows: the caller decides what it may still tell.
            Item::End(Some(partial)) => return Ok(Some(partial)),
            Item::End(None) => {}
            Item::Broken(why) => {
                return Err(AzureError::Transient(format!(
                    "the AzureActivity answer broke off: {why}"
                )));
            }
        }
    }
    Ok(None)
}

/// `[from, until)` as the request's timespan.
fn span(from: OffsetDateTime, until: OffsetDateTime) -> String {
    format!("{}/{}", format_utc_millis(from), format_utc_millis(until))
}

/// What tells two rows apart.
type Key = (OffsetDateTime, String, String, String, String, String);

fn key(r: &ActivityRow) -> Key {
    let s = |v: &str| v.to_owned();
    (
        r.at,
        s(&r.correlation),
        s(&r.operation),
        s(&r.status),
        s(&r.resource),
        s(&r.caller),
    )
}

/// `t` down to the millisecond (the timespan's precision).
fn floor_ms(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// The door rows of `subscriptions` in `[from, until)` on `workspace`, page by page; with them,
/// why the rest was not read, when it was not.
async fn door_rows(
    logs: &dyn LogsQuery,
    workspace: &str,
    subscriptions: &[String],
    (from, until): (OffsetDateTime, OffsetDateTime),
) -> Result<(Vec<ActivityRow>, Option<String>), AzureError> {
    let mut out: Vec<ActivityRow> = Vec::new();
    let (mut start, mut size) = (from, PAGE_ROWS);
    // The rows already read at or after `start` (a page starts at the last one's instant).
    let mut seen: HashSet<Key> = HashSet::new();
    for _ in 0..MAX_PAGES {
        let mut found = Vec::new();
        let query = door_query(subscriptions, size);
        let partial = rows(logs, workspace, &query, &span(start, until), &mut |c, r| {
            found.extend(ActivityRow::read(c, r));
        })
        .await?;
        if let Some(why) = partial {
            if size > MIN_PAGE {
                size /= 2;
                continue;
            }
            let at = format_utc_millis(start);
            let why = format!("a page of {size} rows from {at} was answered partially ({why})");
            return Ok((out, Some(why)));
        }
        let more = found.len() > size;
        found.truncate(size);
        let last = found.last().map(|r| r.at);
        out.extend(found.into_iter().filter(|r| !seen.contains(&key(r))));
        let Some(last) = last.filter(|_| more) else {
            return Ok((out, None));
        };
        let next = floor_ms(last);
        if next <= start {
            let at = format_utc_millis(start);
            return Ok((out, Some(format!("more than {size} rows at {at}"))));
        }
        seen = out
            .iter()
            .rev()
            .take_while(|r| r.at >= next)
            .map(key)
            .collect();
        start = next;
    }
    let at = format_utc_millis(start);
    let why = format!("more than {MAX_PAGES} pages of rows; the rows from {at} on were not read");
    Ok((out, Some(why)))
}

/// Reads the door rows of `subscriptions` (lower-case ids) over `doors` and their latest rows
/// over `silence` from each workspace (customer ids).
///
/// # Errors
/// The first query that failed ([`AzureError`]: 403 names the role, 429 `Throttled`), or whose
/// answer broke off.
pub async fn read(
    logs: &dyn LogsQuery,
    workspaces: &[String],
    subscriptions: &[String],
    doors: (OffsetDateTime, OffsetDateTime),
    silence: (OffsetDateTime, OffsetDateTime),
) -> Result<Read, AzureError> {
    let mut out = Read::default();
    if !subscriptions
        .iter()
        .any(|s| super::events::is_subscription_id(s))
    {
        return Ok(out);
    }
    for ws in workspaces {
        let (mut found, cut) = door_rows(logs, ws, subscriptions, doors).await?;
        out.rows.append(&mut found);
        out.incomplete
            .extend(cut.map(|why| format!("workspace {ws}: {why}")));
        let latest = &mut out.latest;
        let query = subscriptions_query(subscriptions);
        let partial = rows(
            logs,
            ws,
            &query,
            &span(silence.0, silence.1),
            &mut |c, r| {
                let sub = text(c, r, "SubscriptionId").to_ascii_lowercase();
                if let Some(at) = timestamp(&text(c, r, "Latest")).filter(|_| !sub.is_empty()) {
                    let e = latest.entry(sub).or_insert(at);
                    *e = (*e).max(at);
                }
            },
        )
        .await?;
        if let Some(why) = partial {
            return Err(AzureError::Transient(format!(
                "the AzureActivity answer was partial: {why}"
            )));
        }
    }
    out.rows.sort_by_key(|r| r.at);
    Ok(out)
}
