//! One pass's reads of `AzureActivity` from each workspace the app reads: the door rows over the
//! use window and each subscription's latest row over the silence window; a partial or broken
//! answer is an error (deciding on missing rows could clear a door still open); a query the
//! service timed out (504) is asked once more.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::activity::{ActivityRow, MAX_ROWS, door_query, subscriptions_query, text};
use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::loganalytics::{Item, LogsQuery};

/// What the workspaces answered over one window.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// The door operations' rows.
    pub rows: Vec<ActivityRow>,
    /// Each subscription's latest row of the silence window (lower-case id).
    pub latest: BTreeMap<String, OffsetDateTime>,
    /// More rows than [`MAX_ROWS`] (the oldest are read; the rest next tick).
    pub capped: bool,
}

/// Runs `query` over `timespan` on `workspace`, giving each answered row to `each`.
async fn rows(
    logs: &dyn LogsQuery,
    workspace: &str,
    query: &str,
    timespan: &str,
    each: &mut (dyn FnMut(&[String], &[Value]) + Send),
) -> Result<(), AzureError> {
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
            // A partial answer misses rows: deciding on it could clear a door still open.
            Item::End(Some(partial)) => {
                return Err(AzureError::Transient(format!(
                    "the AzureActivity answer was partial: {partial}"
                )));
            }
            Item::End(None) => {}
            Item::Broken(why) => {
                return Err(AzureError::Transient(format!(
                    "the AzureActivity answer broke off: {why}"
                )));
            }
        }
    }
    Ok(())
}

/// Reads the door rows over `doors` and the subscriptions' latest rows over `silence` from each
/// workspace (customer ids).
///
/// # Errors
/// The first query that failed ([`AzureError`]: 403 names the role, 429 `Throttled`).
pub async fn read(
    logs: &dyn LogsQuery,
    workspaces: &[String],
    doors: (OffsetDateTime, OffsetDateTime),
    silence: (OffsetDateTime, OffsetDateTime),
) -> Result<Read, AzureError> {
    let span = |(a, b): (OffsetDateTime, OffsetDateTime)| {
        format!(
            "{}/{}",
            crate::dates::format_utc(a),
            crate::dates::format_utc(b)
        )
    };
    let mut out = Read::default();
    for ws in workspaces {
        let mut found = Vec::new();
        rows(logs, ws, &door_query(), &span(doors), &mut |c, r| {
            if let Some(row) = ActivityRow::read(c, r) {
                found.push(row);
            }
        })
        .await?;
        if found.len() > MAX_ROWS {
            found.truncate(MAX_ROWS);
            out.capped = true;
        }
        out.rows.append(&mut found);
        let latest = &mut out.latest;
        rows(
            logs,
            ws,
            &subscriptions_query(),
            &span(silence),
            &mut |c, r| {
                let sub = text(c, r, "SubscriptionId").to_ascii_lowercase();
                if let Some(at) = timestamp(&text(c, r, "Latest")).filter(|_| !sub.is_empty()) {
                    let e = latest.entry(sub).or_insert(at);
                    *e = (*e).max(at);
                }
            },
        )
        .await?;
    }
    out.rows.sort_by_key(|r| r.at);
    Ok(out)
}
