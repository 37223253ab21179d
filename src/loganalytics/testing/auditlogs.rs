//! The loopback fake's `AuditLogs` side (test-support only): Entra audit rows as Learn's table
//! reference documents them (azure-docs `articles/azure-monitor/reference/tables/auditlogs.md`:
//! `Id`, `TimeGenerated`, `OperationName`, `Category`, `Result`, `ResultReason`,
//! `LoggedByService`, `InitiatedBy`, `TargetResources` and `AdditionalDetails` dynamic, sent as
//! JSON text), answering the authorization query: the request's timespan on `TimeGenerated`,
//! `LoggedByService =~ "PIM"`, `Result =~ "success"`, `OperationName has "PIM activation"` or
//! `has "approved"`, the `project` list, oldest first, at most `take` rows.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::answers::{FakeRow, Types, projected, span};

/// The table.
pub const TABLE: &str = "AuditLogs";

/// An `AuditLogs` row (its `Type` column set) visible from `visible_from`.
pub fn row(values: Map<String, Value>, visible_from: OffsetDateTime) -> FakeRow {
    FakeRow::of_table(TABLE, values, visible_from)
}

const TYPES: Types = Types {
    datetime: &["TimeGenerated"],
    dynamic: &["InitiatedBy", "TargetResources", "AdditionalDetails"],
};

/// Answers the PIM query over `stored` (visible rows of the workspace); `None` for a query the
/// fake does not understand (answered 400).
pub fn answer(
    query: &str,
    timespan: Option<&str>,
    stored: &[&FakeRow],
    partial: bool,
) -> Option<Vec<u8>> {
    let (from, until) = span(timespan?)?;
    if !query.contains("LoggedByService =~ \"PIM\"") {
        return None;
    }
    let text = |r: &FakeRow, c: &str| {
        r.values
            .get(c)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let rows = stored
        .iter()
        .filter(|r| r.generated().is_some_and(|g| g >= from && g < until))
        .filter(|r| text(r, "LoggedByService") == "pim" && text(r, "Result") == "success")
        .filter(|r| {
            let op = text(r, "OperationName");
            op.contains("pim activation") || op.contains("approved")
        })
        .copied()
        .collect();
    projected(query, TYPES, rows, partial)
}
