//! A recording's custody trail: every logged request on its blob, oldest first, from an hour
//! before its creation to an hour after its deletion (or now); a failed query is in the trail.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::query::{self, Found, object_keys};
use crate::catalogue::recording::Recording;
use crate::loganalytics::LogsQuery;

/// Most requests a trail lists (the `capped` flag says when there were more).
pub const TRAIL_ROWS: usize = 200;

/// The `TimeGenerated` span of `row`'s trail at `now`.
pub fn span_of(row: &Recording, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let from = row.blob_created.min(row.first_seen) - Duration::HOUR;
    let to = row
        .deletion
        .as_ref()
        .and_then(|d| crate::dates::timestamp(&d.at))
        .map_or(now, |t| (t + Duration::HOUR).min(now));
    (from, to.max(from))
}

/// The trail of `row` read from `workspace`.
pub async fn read(
    logs: &dyn LogsQuery,
    workspace: &str,
    row: &Recording,
    now: OffsetDateTime,
) -> Result<Found, crate::azure::AzureError> {
    let keys = object_keys(&row.account, &row.container, &row.blob_name);
    query::run(logs, workspace, &keys, &[], span_of(row, now), TRAIL_ROWS).await
}

/// The trail as the API and the evidence pack show it.
pub fn json(
    workspace: &str,
    span: (OffsetDateTime, OffsetDateTime),
    found: &Result<Found, crate::azure::AzureError>,
) -> Value {
    let mut v = json!({
        "workspace": workspace,
        "timespan": query::timespan(span.0, span.1),
        "limit": TRAIL_ROWS,
    });
    match found {
        Ok(f) => {
            v["requests"] = f.rows.iter().map(query::Access::json).collect();
            v["capped"] = Value::Bool(f.capped);
            if let Some(p) = &f.partial {
                v["partial"] = Value::String(p.clone());
            }
        }
        Err(e) => {
            v["requests"] = Value::Array(Vec::new());
            v["error"] = Value::String(crate::telemetry::redact(&e.to_string()));
        }
    }
    v
}
