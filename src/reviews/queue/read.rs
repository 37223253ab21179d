//! Reading the queue top-down: one query per queue partition, whose row keys sort by score then
//! age, so the riskiest `limit` sessions cost [`SHARDS`] parallel round trips however long the
//! queue is.

use serde_json::{Value, json};
use time::OffsetDateTime;

use futures::{StreamExt as _, TryStreamExt as _};

use super::{QUEUE_TABLE, SHARDS, partition};
use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::tables::ops::page;
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
        "overdue": due.is_some_and(|d| d <= now),
        "userName": s("UserName"), "targetVm": s("TargetVm"), "bastionHost": s("BastionHost"),
        "clientIp": s("ClientIp"), "outcome": s("Outcome"),
        "recorded": e.get("Recorded").and_then(Value::as_bool).unwrap_or(false),
        "recordingId": ids.first(), "recordingIds": ids,
    })
}

/// The riskiest `limit` queued sessions (optionally of one Bastion host), riskiest first: each
/// partition's top `limit`, read in parallel, merged by row key (score, then age).
///
/// # Errors
/// Table errors (an absent table is an empty queue).
pub async fn top(
    tables: &dyn TableStore,
    limit: usize,
    bastion: Option<&str>,
) -> Result<Vec<Entity>, AzureError> {
    let mut reads = Vec::with_capacity(SHARDS);
    for shard in 0..SHARDS {
        reads.push(top_of(tables, partition(shard), limit, bastion));
    }
    let mut out: Vec<Entity> = futures::stream::iter(reads)
        .buffer_unordered(SHARDS)
        .try_concat()
        .await?;
    out.sort_by(|a, b| get_str(a, "RowKey").cmp(&get_str(b, "RowKey")));
    out.truncate(limit);
    Ok(out)
}

/// One partition's riskiest `limit` (of `bastion`, when given).
async fn top_of(
    tables: &dyn TableStore,
    pk: String,
    limit: usize,
    bastion: Option<&str>,
) -> Result<Vec<Entity>, AzureError> {
    let mut out = Vec::new();
    let mut next = None;
    // With a host filter most rows of a page may be other hosts': full pages then.
    let take = match bastion {
        Some(_) => 1000,
        None => u32::try_from(limit.clamp(1, 1000)).unwrap_or(1000),
    };
    loop {
        let page = page(tables, QUEUE_TABLE, &Filter::partition(&pk), take, next).await?;
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
