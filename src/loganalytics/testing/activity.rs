//! The loopback fake's `AzureActivity` side (test-support only): rows as Learn's table reference
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

use super::answers::{FakeRow, answer_body};
use crate::dates::timestamp;

/// The table.
pub const TABLE: &str = "AzureActivity";

/// An `AzureActivity` row (its `Type` column set) visible from `visible_from`.
pub fn row(values: Map<String, Value>, visible_from: OffsetDateTime) -> FakeRow {
    FakeRow::of_table(TABLE, values, visible_from)
}

/// True for a row of this table (the other sides leave them out).
pub fn is_activity_row(r: &FakeRow) -> bool {
    r.values.get("Type").and_then(Value::as_str) == Some(TABLE)
}

fn column_type(name: &str) -> &'static str {
    match name {
        "TimeGenerated" | "Latest" => "datetime",
        "Properties_d" => "dynamic",
        _ => "string",
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Answers an `AzureActivity` query over `stored` (visible rows of the workspace); `None` for a
/// query the fake does not understand (answered 400).
pub fn answer(
    query: &str,
    timespan: Option<&str>,
    stored: &[&FakeRow],
    partial: bool,
) -> Option<Vec<u8>> {
    let span = timespan.and_then(|t| {
        let (a, b) = t.split_once('/')?;
        Some((timestamp(a)?, timestamp(b)?))
    });
    let generated = |r: &FakeRow| {
        r.values
            .get("TimeGenerated")
            .and_then(Value::as_str)
            .and_then(timestamp)
    };
    let in_span =
        |r: &&&FakeRow| span.is_none_or(|(a, b)| generated(r).is_some_and(|g| g >= a && g < b));
    let take: usize = query.rsplit("| take ").next()?.trim().parse().ok()?;
    if take > crate::loganalytics::ROW_CAP {
        return None;
    }
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
            if let (Some(sub), Some(at)) = (sub, generated(r)) {
                let e = latest.entry(sub.to_owned()).or_insert(at);
                *e = (*e).max(at);
            }
        }
        let rows: Vec<FakeRow> = latest
            .into_iter()
            .take(take)
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
        return Some(answer_body(&columns, column_type, &refs, cell, partial));
    }
    let ops: Vec<String> = between(query, "OperationNameValue in~ (", ")")?
        .split(',')
        .map(|o| o.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let columns: Vec<String> = between(query, "| project ", "\n")?
        .split(',')
        .map(|c| c.trim().to_owned())
        .collect();
    let mut rows: Vec<&FakeRow> = stored
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
    rows.sort_by_key(|r| generated(r));
    rows.truncate(take);
    if partial {
        rows.truncate(rows.len() / 2);
    }
    // A dynamic column is sent as its JSON text.
    let cell = |r: &FakeRow, c: &str| match (c, r.values.get(c)) {
        ("Properties_d", Some(v)) if !v.is_string() && !v.is_null() => Value::String(v.to_string()),
        (_, v) => v.cloned().unwrap_or(Value::Null),
    };
    Some(answer_body(&columns, column_type, &rows, cell, partial))
}
