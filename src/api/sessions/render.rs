//! The public shape of a session (documented in `docs/catalogue.md`; the `/api/ui` page relies on
//! it): one field list for JSON and CSV. Strings are always present (empty when unknown; the latest
//! review's `reviewVerdict`, `reviewer`, `reviewedAt` empty when unreviewed); `end`,
//! `durationMs` and `recordingId` are `null` when unknown.

use serde_json::{Map, Value};

use super::{outcome, recorded};
use crate::csv_text as csv;
use crate::tables::{Entity, get_i64, get_list, get_str};

/// Field names, in CSV column order.
pub const COLUMNS: &[&str] = &[
    "sessionId",
    "userName",
    "userEmail",
    "clientIp",
    "targetVm",
    "targetResourceId",
    "bastionHost",
    "protocol",
    "start",
    "end",
    "durationMs",
    "outcome",
    "recorded",
    "recordingId",
    "recordingIds",
    "joinPending",
    "reviewVerdict",
    "reviewer",
    "reviewedAt",
];

/// `(public name, index property)` of the plain string fields.
const STRINGS: &[(&str, &str)] = &[
    ("sessionId", "RowKey"),
    ("userName", "UserName"),
    ("userEmail", "UserEmail"),
    ("clientIp", "ClientIp"),
    ("targetVm", "TargetVm"),
    ("targetResourceId", "TargetResourceId"),
    ("bastionHost", "BastionHost"),
    ("protocol", "Protocol"),
    ("start", "Start"),
    ("reviewVerdict", "ReviewVerdict"),
    ("reviewer", "Reviewer"),
    ("reviewedAt", "ReviewedAt"),
];

fn recording_ids(e: &Entity) -> Vec<String> {
    get_list(e, "RecordingIds").map(str::to_owned).collect()
}

/// The JSON object of one `sessionwindows` row.
pub fn json_item(e: &Entity) -> Value {
    let mut m = Map::new();
    for (name, prop) in STRINGS {
        m.insert(
            (*name).to_owned(),
            Value::from(get_str(e, prop).unwrap_or_default()),
        );
    }
    let end = get_str(e, "End").filter(|s| !s.is_empty());
    m.insert("end".into(), end.map_or(Value::Null, Value::from));
    m.insert(
        "durationMs".into(),
        get_i64(e, "DurationMs").map_or(Value::Null, Value::from),
    );
    m.insert("outcome".into(), Value::from(outcome(e)));
    m.insert("recorded".into(), Value::Bool(recorded(e)));
    let ids = recording_ids(e);
    m.insert(
        "recordingId".into(),
        ids.first().map_or(Value::Null, |i| Value::from(i.as_str())),
    );
    m.insert("recordingIds".into(), Value::from(ids));
    // A recording joined or left the session and its recorded state is being derived again (within
    // a tail tick): `recorded` is the state before that change.
    let pending = get_str(e, "JoinFrom").is_some_and(|v| !v.is_empty());
    m.insert("joinPending".into(), Value::Bool(pending));
    Value::Object(m)
}

/// One CSV line (with CRLF) of a row: [`COLUMNS`] in order, `recordingIds` joined with `;`.
pub fn csv_row(e: &Entity) -> String {
    csv::line(&csv_cells(e))
}

/// The CSV cells of a row, unescaped, in [`COLUMNS`] order (the evidence pack writes the same).
pub fn csv_cells(e: &Entity) -> Vec<String> {
    let item = json_item(e);
    COLUMNS
        .iter()
        .map(|c| match &item[*c] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(";"),
            v => v.to_string(),
        })
        .collect()
}
