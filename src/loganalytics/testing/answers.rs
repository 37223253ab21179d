//! What both Log Analytics fakes share: a stored row and the query API's answer body.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// One stored row: its columns (by name), ingestion time and when queries first see it.
#[derive(Debug, Clone)]
pub struct FakeRow {
    /// `ingestion_time()`.
    pub ingested: OffsetDateTime,
    /// Not returned by a query before this (ingestion is visible late).
    pub visible_from: OffsetDateTime,
    /// The table's columns.
    pub values: Map<String, Value>,
}

impl FakeRow {
    /// A row of `table` (its `Type` column set) ingested and visible from `visible_from`.
    pub fn of_table(
        table: &str,
        mut values: Map<String, Value>,
        visible_from: OffsetDateTime,
    ) -> Self {
        values.insert("Type".into(), Value::String(table.into()));
        Self {
            ingested: visible_from,
            visible_from,
            values,
        }
    }
}

/// The query API's answer: one `PrimaryResult` table of `columns` (typed by `type_of`) with a
/// `cell` per stored row and column; `partial` adds the error a partial result carries.
pub fn answer_body(
    columns: &[String],
    type_of: impl Fn(&str) -> &'static str,
    rows: &[&FakeRow],
    cell: impl Fn(&FakeRow, &str) -> Value,
    partial: bool,
) -> Vec<u8> {
    let typed: Vec<Value> = columns
        .iter()
        .map(|c| json!({"name": c, "type": type_of(c)}))
        .collect();
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| columns.iter().map(|c| cell(r, c)).collect())
        .collect();
    let columns = typed;
    let mut answer =
        json!({"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]});
    if partial {
        answer["error"] = json!({"code": "PartialError", "message": "There were some errors when processing your query.",
            "details": [{"code": "EngineError", "message": "Query result set has exceeded the internal data size limit"}]});
    }
    serde_json::to_vec(&answer).unwrap_or_default()
}

/// A datetime as Kusto writes it: UTC, the fraction to 100 ns without trailing zeros, none at all
/// on a whole second.
pub fn format_utc_ticks(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fraction = format!("{:07}", t.nanosecond() / 100);
    let fraction = fraction.trim_end_matches('0');
    let dot = if fraction.is_empty() { "" } else { "." };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{dot}{fraction}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::format_utc_ticks;
    use crate::dates::timestamp;

    #[test]
    fn kusto_datetimes_keep_100_ns_without_trailing_zeros() {
        let at = datetime!(2025-03-14 09:42:17.1234567 +01:00);
        assert_eq!(format_utc_ticks(at), "2025-03-14T08:42:17.1234567Z");
        let at = datetime!(2025-03-14 09:42:17.12 UTC);
        assert_eq!(format_utc_ticks(at), "2025-03-14T09:42:17.12Z");
        let at = datetime!(2025-03-14 09:42:17 UTC);
        assert_eq!(format_utc_ticks(at), "2025-03-14T09:42:17Z");
        assert_eq!(timestamp(&format_utc_ticks(at)), Some(at));
    }
}
