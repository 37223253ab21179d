//! Reading the queue top-down: the rank rows' key range of the one partition, whose keys sort
//! riskiest first, so the riskiest `limit` sessions (of one host, too) are the first rows of one
//! query however long the queue is; when it was last ranked and when the timer ranks it next;
//! the overdue sessions of a period for the evidence pack.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::entry::{PARTITION, QUEUE_TABLE, RANKS};
use crate::azure::AzureError;
use crate::catalogue::figures;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::filter::Op;
use crate::tables::ops::{get, query_all};
use crate::tables::{Entity, Filter, TableStore, get_list, get_str};

/// The row (partition, row key) holding when `ReviewQueue` last finished ranking (`At`).
const RANKED: (&str, &str) = ("basis", "ranked");
/// `ReviewQueue`'s schedule: every 5 minutes on the minute (`functions/ReviewQueue/function.json`,
/// `0 */5 * * * *`; a unit test keeps the two together).
pub const RANK_EVERY_MINUTES: i64 = 5;

/// Records that a ranking run finished at `now` (its `sys.UtcNow`).
///
/// # Errors
/// Table errors.
pub async fn mark_ranked(tables: &dyn TableStore, now: OffsetDateTime) -> Result<(), AzureError> {
    let row = json!({"PartitionKey": RANKED.0, "RowKey": RANKED.1, "At": format_utc_millis(now)});
    super::entry::upsert(tables, &row).await
}

/// When the queue was last ranked (`None`: never, or the table does not exist yet).
///
/// # Errors
/// Table errors.
pub async fn ranked_at(tables: &dyn TableStore) -> Result<Option<String>, AzureError> {
    let row = get(tables, QUEUE_TABLE, RANKED.0, RANKED.1).await?;
    Ok(row.and_then(|r| get_str(&r.entity, "At").map(str::to_owned)))
}

/// The timer's next tick after `now`: the next whole multiple of [`RANK_EVERY_MINUTES`] (UTC).
pub fn next_rank(now: OffsetDateTime) -> OffsetDateTime {
    let step = RANK_EVERY_MINUTES * 60;
    let secs = now.unix_timestamp();
    let next = (secs.div_euclid(step) + 1) * step;
    OffsetDateTime::from_unix_timestamp(next).unwrap_or(now)
}

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
        "userName": s("UserName"), "userEmail": s("UserEmail"), "targetVm": s("TargetVm"), "bastionHost": s("BastionHost"),
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
    let rows = query_all(tables, QUEUE_TABLE, &filter, limit).await?;
    Ok(rows.into_iter().map(|s| s.entity).collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_rank_is_the_timers_next_tick() {
        let schedule = include_str!("../../../functions/ReviewQueue/function.json");
        assert!(
            schedule.contains(&format!("\"0 */{RANK_EVERY_MINUTES} * * * *\"")),
            "{schedule}"
        );
        let at = time::macros::datetime!(2025-03-14 09:03:54.5 UTC);
        assert_eq!(next_rank(at), time::macros::datetime!(2025-03-14 09:05 UTC));
        let on = time::macros::datetime!(2025-03-14 09:05 UTC);
        assert_eq!(next_rank(on), time::macros::datetime!(2025-03-14 09:10 UTC));
    }
}
