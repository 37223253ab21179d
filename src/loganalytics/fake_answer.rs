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

/// The query API's answer: one `PrimaryResult` table of `columns` and `rows`; `partial` adds the
/// error a partial result carries beside its rows.
pub fn answer_body(columns: Vec<Value>, rows: Vec<Value>, partial: bool) -> Vec<u8> {
    let mut answer =
        json!({"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]});
    if partial {
        answer["error"] = json!({"code": "PartialError", "message": "There were some errors when processing your query.",
            "details": [{"code": "EngineError", "message": "Query result set has exceeded the internal data size limit"}]});
    }
    serde_json::to_vec(&answer).unwrap_or_default()
}
