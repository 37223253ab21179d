//! Reading the queue top-down: the rank rows' key range of the one partition, whose keys sort
//! riskiest first, so the riskiest `limit` sessions (of one host, too) are the first rows of one
//! query however long the queue is; the overdue sessions of a period for the evidence pack.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::entry::{PARTITION, QUEUE_TABLE, RANKS};
use crate::azure::AzureError;
use crate::catalogue::figures;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::filter::Op;
use crate::tables::ops::{page, query_all};
use crate::tables::{Entity, Filter, TableStore, get_list, get_str};

/// One queued session, as `GET /api/reviews/queue` shows it.
pub fn to_json(e: &Entity, now: OffsetDateTime) -> Value {
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    let due = get_str(e, "DueAt").and_then(timestamp);
    let ids: Vec<&str> = get_list(e, "RecordingIds").collect();
    json!({
        "sessionId": s("TunnelId"), "score": s("Score").parse::<u32>().unwrap_or_default(),
        "reasons": get_list(e, "Reasons").collect::<Vec<_>>(),
        "start": s("Start"), "end": s("End"), "dueAt": s("DueAt"),
        "overdue": due.is_some_and(|d| figures::overdue(d, now)),
        "userName": s("UserName"), "targetVm": s("TargetVm"), "bastionHost": s("BastionHost"),
        "clientIp": s("ClientIp"), "outcome": s("Outcome"),
        "recorded": e.get("Recorded").and_then(Value::as_bool).unwrap_or(false),
        "recordingId": ids.first(), "recordingIds": ids,
    })
}

/// The conditions of the rank rows (of `bastion`, matched without regard to case, when given).
pub fn ranked(bastion: Option<&str>) -> Vec<Filter> {
    let mut all = vec![
        Filter::partition(PARTITION),
        Filter::str("RowKey", Op::Ge, RANKS.0),
        Filter::str("RowKey", Op::Lt, RANKS.1),
    ];
    // Host names are stored in lower case (as the audit records are folded).
    all.extend(bastion.map(|b| Filter::str("BastionHost", Op::Eq, b.to_ascii_lowercase())));
    all
}

/// The riskiest `limit` queued sessions (optionally of one Bastion host), riskiest first.
pub async fn top(
    tables: &dyn TableStore,
    limit: usize,
    bastion: Option<&str>,
) -> Result<Vec<Entity>, AzureError> {
    let filter = Filter::And(ranked(bastion));
    let mut out = Vec::new();
    let mut next = None;
    // The service may answer a filtered page short, with a continuation.
    loop {
        let want = u32::try_from(limit.saturating_sub(out.len())).unwrap_or(1000);
        let page = page(tables, QUEUE_TABLE, &filter, want.clamp(1, 1000), next).await?;
        out.extend(page.items.into_iter().map(|s| s.entity));
        if out.len() >= limit || page.next.is_none() {
            out.truncate(limit);
            return Ok(out);
        }
        next = page.next;
    }
}

/// The Bastion host of each queued session that started in `[from, to)` (of `bastion`, when given)
/// and is overdue at `now` ([`figures::overdue`]): what the queue marks `overdue`, one per session.
///
/// # Errors
/// Table errors.
pub async fn overdue_in(
    tables: &dyn TableStore,
    bastion: Option<&str>,
    (from, to): (OffsetDateTime, OffsetDateTime),
    now: OffsetDateTime,
) -> Result<Vec<String>, AzureError> {
    let mut all = ranked(bastion);
    all.push(figures::overdue_filter("DueAt", now));
    all.push(Filter::str("Start", Op::Ge, format_utc_millis(from)));
    all.push(Filter::str("Start", Op::Lt, format_utc_millis(to)));
    let rows = query_all(tables, QUEUE_TABLE, &Filter::And(all), usize::MAX).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            get_str(&r.entity, "BastionHost")
                .unwrap_or_default()
                .to_owned()
        })
        .collect())
}
