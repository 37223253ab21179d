//! The loopback fake's `AuditLogs` side (test-support only): Entra audit rows as Learn's table
//! reference documents them (azure-docs `articles/azure-monitor/reference/tables/auditlogs.md`:
//! `Id`, `TimeGenerated`, `OperationName`, `Category`, `Result`, `ResultReason`,
//! `LoggedByService`, `InitiatedBy`, `TargetResources` and `AdditionalDetails` dynamic, sent as
//! JSON text), answering the authorization query: the request's timespan on `TimeGenerated`,
//! `LoggedByService =~ "PIM"`, `Result =~ "success"`, `OperationName has "PIM activation"` or
//! `has "approved"`, the `project` list, oldest first, at most `take` rows.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::answers::{FakeRow, answer_body};
use crate::dates::timestamp;

/// The table.
pub const TABLE: &str = "AuditLogs";

/// An `AuditLogs` row (its `Type` column set) visible from `visible_from`.
pub fn row(values: Map<String, Value>, visible_from: OffsetDateTime) -> FakeRow {
    FakeRow::of_table(TABLE, values, visible_from)
}

/// True for a row of this table.
pub fn is_audit_row(r: &FakeRow) -> bool {
    r.values.get("Type").and_then(Value::as_str) == Some(TABLE)
}

fn column_type(name: &str) -> &'static str {
    match name {
        "TimeGenerated" => "datetime",
        "InitiatedBy" | "TargetResources" | "AdditionalDetails" => "dynamic",
        _ => "string",
    }
}

/// Answers the PIM query over `stored` (visible rows of the workspace); `None` for a query the
/// fake does not understand (answered 400).
pub fn answer(
    query: &str,
    timespan: Option<&str>,
    stored: &[&FakeRow],
    partial: bool,
) -> Option<Vec<u8>> {
    let (a, b) = timespan?.split_once('/')?;
    let (from, until) = (timestamp(a)?, timestamp(b)?);
    let take: usize = query.rsplit("| take ").next()?.trim().parse().ok()?;
    if take > crate::loganalytics::ROW_CAP || !query.contains("LoggedByService =~ \"PIM\"") {
        return None;
    }
    let from_project = query.split_once("| project ")?.1;
    let columns: Vec<String> = from_project
        .split('\n')
        .next()?
        .split(',')
        .map(|c| c.trim().to_owned())
        .collect();
    let text = |r: &FakeRow, c: &str| {
        r.values
            .get(c)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let generated = |r: &FakeRow| {
        r.values
            .get("TimeGenerated")
            .and_then(Value::as_str)
            .and_then(timestamp)
    };
    let mut rows: Vec<&FakeRow> = stored
        .iter()
        .filter(|r| generated(r).is_some_and(|g| g >= from && g < until))
        .filter(|r| text(r, "LoggedByService") == "pim" && text(r, "Result") == "success")
        .filter(|r| {
            let op = text(r, "OperationName");
            op.contains("pim activation") || op.contains("approved")
        })
        .copied()
        .collect();
    rows.sort_by_key(|r| generated(r));
    rows.truncate(take);
    if partial {
        rows.truncate(rows.len() / 2);
    }
    let cell = |r: &FakeRow, c: &str| match r.values.get(c) {
        Some(v) if column_type(c) == "dynamic" && !v.is_string() && !v.is_null() => {
            Value::String(v.to_string())
        }
        v => v.cloned().unwrap_or(Value::Null),
    };
    Some(answer_body(&columns, column_type, &rows, cell, partial))
}
