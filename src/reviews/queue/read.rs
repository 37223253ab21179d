//! Reading the queue top-down: one query of the `open` partition, whose row keys sort by score
//! then age, so the riskiest `limit` sessions cost one round trip however long the queue is.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{OPEN, QUEUE_TABLE};
use crate::dates::timestamp;
use crate::tables::{Entity, Filter, TableError, TableStore, get_str};

/// One queued session, as `GET /api/reviews/queue` shows it.
pub fn to_json(e: &Entity, now: OffsetDateTime) -> Value {
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    let due = get_str(e, "DueAt").and_then(timestamp);
    let ids: Vec<&str> = s("RecordingIds")
        .split(',')
        .filter(|x| !x.is_empty())
        .collect();
    json!({
        "sessionId": s("TunnelId"), "score": s("Score").parse::<u32>().unwrap_or_default(),
        "reasons": s("Reasons").split(',').filter(|x| !x.is_empty()).collect::<Vec<_>>(),
        "start": s("Start"), "end": s("End"), "dueAt": s("DueAt"),
        "overdue": due.is_some_and(|d| d <= now),
        "userName": s("UserName"), "targetVm": s("TargetVm"), "bastionHost": s("BastionHost"),
        "clientIp": s("ClientIp"), "outcome": s("Outcome"),
        "recorded": e.get("Recorded").and_then(Value::as_bool).unwrap_or(false),
        "recordingId": ids.first(), "recordingIds": ids,
    })
}

/// The riskiest `limit` queued sessions (optionally of one Bastion host), riskiest first.
///
/// # Errors
/// Table errors (an absent table is an empty queue).
pub async fn top(
    tables: &dyn TableStore,
    limit: usize,
    bastion: Option<&str>,
) -> Result<Vec<Entity>, TableError> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = match tables
            .query(
                QUEUE_TABLE,
                Some(&Filter::partition(OPEN)),
                Some(1000),
                next,
            )
            .await
        {
            Err(TableError::NotFound) => return Ok(out),
            other => other?,
        };
        out.extend(page.items.into_iter().map(|s| s.entity).filter(|e| {
            bastion.is_none_or(|b| {
                get_str(e, "BastionHost").is_some_and(|h| h.eq_ignore_ascii_case(b))
            })
        }));
        if out.len() >= limit || page.next.is_none() {
            out.truncate(limit);
            return Ok(out);
        }
        next = page.next;
    }
}
