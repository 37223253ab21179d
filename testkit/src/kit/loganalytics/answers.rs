//! What both Log Analytics fakes share: a stored row and the query API's answer body.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use bastion_recordings::dates::timestamp;

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

    /// True for a row of `table` (its `Type` column).
    pub fn is_of(&self, table: &str) -> bool {
        self.values.get("Type").and_then(Value::as_str) == Some(table)
    }

    /// Its `TimeGenerated`.
    pub fn generated(&self) -> Option<OffsetDateTime> {
        self.values
            .get("TimeGenerated")
            .and_then(Value::as_str)
            .and_then(timestamp)
    }
}

/// A table's column types: `datetime` and `dynamic` ones named, the rest `string`.
#[derive(Debug, Clone, Copy)]
pub struct Types {
    /// The `datetime` columns.
    pub datetime: &'static [&'static str],
    /// The `dynamic` columns (sent as JSON text).
    pub dynamic: &'static [&'static str],
}

impl Types {
    /// The type of column `c`.
    pub fn of(self, c: &str) -> &'static str {
        match c {
            c if self.datetime.contains(&c) => "datetime",
            c if self.dynamic.contains(&c) => "dynamic",
            _ => "string",
        }
    }
}

/// The text of `text` between `start` and the next `end`.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The request's `timespan` (`start/end`).
pub fn span(timespan: &str) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let (a, b) = timespan.split_once('/')?;
    Some((timestamp(a)?, timestamp(b)?))
}

/// A query's `| take n` (the last line); `None` above the service's row cap (refused).
pub fn take(query: &str) -> Option<usize> {
    let take: usize = query.rsplit("| take ").next()?.trim().parse().ok()?;
    (take <= bastion_recordings::loganalytics::ROW_CAP).then_some(take)
}

/// The answer to `query` (its `| project` columns, typed by `type_of`, at most its `| take` rows)
/// over the `rows` it matched, oldest first; a dynamic column is sent as its JSON text.
pub fn projected(
    query: &str,
    types: Types,
    mut rows: Vec<&FakeRow>,
    partial: bool,
) -> Option<Vec<u8>> {
    let take = take(query)?;
    let columns: Vec<String> = between(query, "| project ", "\n")?
        .split(',')
        .map(|c| c.trim().to_owned())
        .collect();
    rows.sort_by_key(|r| r.generated());
    rows.truncate(take);
    if partial {
        rows.truncate(rows.len() / 2);
    }
    let cell = |r: &FakeRow, c: &str| match r.values.get(c) {
        Some(v) if types.dynamic.contains(&c) && !v.is_string() && !v.is_null() => {
            Value::String(v.to_string())
        }
        v => v.cloned().unwrap_or(Value::Null),
    };
    Some(answer_body(&columns, |c| types.of(c), &rows, cell, partial))
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
    use bastion_recordings::dates::timestamp;

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
