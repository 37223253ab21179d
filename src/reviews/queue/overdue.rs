//! `review.overdue`: a queued (risky, unreviewed) session whose review deadline passed raises one
//! notification. Once across instances: the marker `OverdueNotified` is set on the session's
//! `reviewindex` row by an ETag-conditional write and only the writer that set it emits; the id
//! is stable (type + tunnel id), so delivery claims drop any repeat as well. The queue row then
//! carries the marker too (a conditional write; the index keeps it across re-derivations), so
//! later runs ask only for unannounced rows: a run costs a query per queue partition plus a few
//! calls per new notification, however many announced overdue sessions wait.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{INDEX_TABLE, QUEUE_TABLE, SHARDS, partition};
use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::notify::{Notification, Severity};
use crate::tables::filter::Op;
use crate::tables::ops::{query_all, update};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_str};

/// The notification type.
pub const OVERDUE: &str = "review.overdue";
/// Most notifications raised per run (the rest next run).
pub const MAX_PER_RUN: usize = 200;
/// The marker, on the index row (the guard) and on the queue row (a shortcut).
pub const MARKER: &str = "OverdueNotified";

/// Sets the marker on the queue row as read: a row re-derived meanwhile (412) or gone (404) is
/// left alone, and any failure only costs the next run one more read of the index row.
async fn mark_queue_row(tables: &dyn TableStore, row: &Stored) {
    let mut next = row.entity.clone();
    next.insert(MARKER.into(), true.into());
    let mode = WriteMode::IfMatch(row.etag.clone());
    if let Err(err) = tables.write(QUEUE_TABLE, &next, mode).await {
        tracing::debug!(error = %err, "review.overdue: queue row not marked");
    }
}

fn notification(row: &Entity, deadline_hours: i64) -> Notification {
    let s = |k: &str| get_str(row, k).unwrap_or_default().to_owned();
    let tunnel = s("TunnelId");
    let reasons = s("Reasons").replace(',', ", ");
    Notification::new(
        OVERDUE,
        &tunnel,
        s("DueAt"),
        Severity::Warning,
        format!("A risky session was not reviewed within {deadline_hours} hours"),
        json!({
            "tunnelId": tunnel, "bastionHost": s("BastionHost"), "targetVm": s("TargetVm"),
            "userName": s("UserName"), "sessionStart": s("Start"), "sessionEnd": s("End"),
            "riskScore": s("Score"), "riskReasons": reasons, "dueAt": s("DueAt"),
        }),
    )
}

/// The notifications of queued sessions due before `now` that no run has announced yet (each
/// marked in the same step).
///
/// # Errors
/// Table errors (what was marked before the error is announced by nobody: the caller must
/// deliver what it got, so it returns the notifications won so far with the error logged).
pub async fn overdue(
    tables: &dyn TableStore,
    deadline_hours: i64,
    now: OffsetDateTime,
) -> Result<Vec<Notification>, AzureError> {
    let mut due = Vec::new();
    for shard in 0..SHARDS {
        let mut filter = vec![
            Filter::partition(&partition(shard)),
            Filter::str("DueAt", Op::Lt, format_utc_millis(now)),
        ];
        // Announced rows stay out of the answer, so a backlog costs nothing run after run; rows of
        // the first partition may predate the marker copy (no such property matches no filter), so
        // that partition is checked row by row below.
        if shard != 0 {
            filter.push(Filter::bool(MARKER, false));
        }
        let filter = Filter::And(filter);
        due.extend(query_all(tables, QUEUE_TABLE, &filter, usize::MAX).await?);
    }
    // Riskiest first, as one partition read them, when a run cannot announce them all.
    due.sort_by(|a, b| get_str(&a.entity, "RowKey").cmp(&get_str(&b.entity, "RowKey")));
    let mut out = Vec::new();
    for row in due {
        if out.len() >= MAX_PER_RUN {
            break;
        }
        let e = &row.entity;
        if e.get(MARKER) == Some(&Value::Bool(true)) {
            continue;
        }
        let (Some(day), Some(tunnel)) = (get_str(e, "SessionDay"), get_str(e, "TunnelId")) else {
            continue;
        };
        let mut won = false;
        let marked = update(tables, INDEX_TABLE, day, tunnel, &mut |cur| {
            let cur = cur?;
            won = cur.entity.get(MARKER) != Some(&Value::Bool(true));
            won.then(|| {
                let mut next = cur.entity.clone();
                next.insert(MARKER.into(), true.into());
                next
            })
        })
        .await;
        if marked.is_ok() {
            mark_queue_row(tables, &row).await;
        }
        match marked {
            Ok(_) if won => out.push(notification(e, deadline_hours)),
            Ok(_) => {}
            // Announce what was won; the rest is retried next run.
            Err(err) if !out.is_empty() => {
                tracing::warn!(error = %err, "review.overdue: marking stopped; the rest next run");
                break;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(out)
}
