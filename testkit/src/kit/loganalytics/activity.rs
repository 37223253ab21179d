//! The loopback fake's `AzureActivity` side: rows as Learn's table reference
//! documents them (azure-docs `articles/azure-monitor/reference/tables/azureactivity.md`:
//! `TimeGenerated`, `OperationNameValue`, `ActivityStatusValue` — `Start`, `Accept`, `Success`,
//! `Failure`, or `Started`/`Succeeded`/`Failed` —, `ActivitySubstatusValue`, `Caller`,
//! `CallerIpAddress`, `_ResourceId`, `ResourceId`, `SubscriptionId`, `CorrelationId`,
//! `Properties_d` dynamic), matched on the request's timespan (its start included, as
//! `TimeGenerated` is filtered), the queried subscriptions (`SubscriptionId in~ (...)`) and
//! operations, at most `take` rows (above the service's 500,000 a query is refused), and the
//! per-subscription `summarize` of the silence query.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::answers::{FakeRow, Types, answer_body, between, projected, span, take};

/// The table.
pub const TABLE: &str = "AzureActivity";

/// An `AzureActivity` row (its `Type` column set) visible from `visible_from`.
pub fn row(values: Map<String, Value>, visible_from: OffsetDateTime) -> FakeRow {
    FakeRow::of_table(TABLE, values, visible_from)
}

const TYPES: Types = Types {
    datetime: &["TimeGenerated", "Latest"],
    dynamic: &["Properties_d"],
};

/// Answers an `AzureActivity` query over `stored` (visible rows of the workspace); `None` for a
/// query the fake does not understand (answered 400).
pub fn answer(
    query: &str,
    timespan: Option<&str>,
    stored: &[&FakeRow],
    partial: bool,
) -> Option<Vec<u8>> {
    let span = timespan.and_then(span);
    let in_span =
        |r: &&&FakeRow| span.is_none_or(|(a, b)| r.generated().is_some_and(|g| g >= a && g < b));
    // `| where SubscriptionId in~ ("a", "b")`: those subscriptions only, in any case.
    let subscriptions: Option<Vec<String>> = between(query, "| where SubscriptionId in~ (", ")")
        .map(|list| {
            list.split(',')
                .map(|s| s.trim().trim_matches('"').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        });
    let of_subscription = |r: &&&FakeRow| {
        subscriptions.as_ref().is_none_or(|subs| {
            r.values
                .get("SubscriptionId")
                .and_then(Value::as_str)
                .is_some_and(|s| subs.contains(&s.to_ascii_lowercase()))
        })
    };
    if query.contains("| summarize Latest = max(TimeGenerated) by SubscriptionId") {
        let mut latest: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
        for r in stored.iter().filter(in_span).filter(of_subscription) {
            let sub = r.values.get("SubscriptionId").and_then(Value::as_str);
            if let (Some(sub), Some(at)) = (sub, r.generated()) {
                let e = latest.entry(sub.to_owned()).or_insert(at);
                *e = (*e).max(at);
            }
        }
        let rows: Vec<FakeRow> = latest
            .into_iter()
            .take(take(query)?)
            .map(|(sub, at)| FakeRow {
                ingested: at,
                visible_from: at,
                values:
                    json!({"SubscriptionId": sub, "Latest": super::answers::format_utc_ticks(at)})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
            })
            .collect();
        let refs: Vec<&FakeRow> = rows.iter().collect();
        let columns = ["SubscriptionId".to_owned(), "Latest".to_owned()];
        let cell = |r: &FakeRow, c: &str| r.values.get(c).cloned().unwrap_or(Value::Null);
        return Some(answer_body(&columns, |c| TYPES.of(c), &refs, cell, partial));
    }
    let ops: Vec<String> = between(query, "OperationNameValue in~ (", ")")?
        .split(',')
        .map(|o| o.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let rows = stored
        .iter()
        .filter(in_span)
        .filter(of_subscription)
        .filter(|r| {
            r.values
                .get("OperationNameValue")
                .and_then(Value::as_str)
                .is_some_and(|o| ops.contains(&o.to_ascii_lowercase()))
        })
        .copied()
        .collect();
    projected(query, TYPES, rows, partial)
}
