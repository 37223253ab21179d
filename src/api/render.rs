//! The public shape of a catalogue row in JSON and CSV: one column list for both, so an export and
//! an API page carry the same fields under the same names.

use serde_json::{Map, Value};

use crate::csv_text as csv;
use crate::tables::{Entity, get_i64, get_str};

/// `(public name, table property)`; integers are rendered as numbers in JSON.
pub const COLUMNS: &[(&str, &str)] = &[
    ("id", "RecordingId"),
    ("sessionStart", "SessionStart"),
    ("sessionEnd", "SessionEnd"),
    ("durationMs", "DurationMs"),
    ("blobCreated", "BlobCreated"),
    ("userName", "UserName"),
    ("userEmail", "UserEmail"),
    ("clientIp", "ClientIp"),
    ("protocol", "Protocol"),
    ("targetVm", "TargetVm"),
    ("targetResourceId", "TargetResourceId"),
    ("tunnelId", "TunnelId"),
    ("matchConfidence", "MatchConfidence"),
    ("bastionHost", "BastionHost"),
    ("account", "Account"),
    ("container", "Container"),
    ("blobName", "BlobName"),
    ("contentLength", "ContentLength"),
    ("status", "Status"),
    ("retentionClass", "RetentionClass"),
    ("retainUntil", "RetainUntil"),
    ("legalHold", "LegalHold"),
    ("sha256", "Sha256"),
    ("hashedLength", "HashedLength"),
    ("reviewVerdict", "ReviewVerdict"),
    ("reviewer", "Reviewer"),
    ("reviewedAt", "ReviewedAt"),
];

const INTEGERS: &[&str] = &["DurationMs", "ContentLength", "HashedLength"];

/// A property shown in place of another one the row lacks: an unjoined recording's Bastion host
/// is the one its source is tied to.
fn fallback(prop: &str) -> Option<&'static str> {
    (prop == "BastionHost").then_some("SourceBastion")
}

/// The value shown for `prop`: its own when set (not null, not empty), else its fallback's when set.
/// JSON and CSV show the same.
fn shown<'e>(e: &'e Entity, prop: &str) -> Option<&'e Value> {
    let set = |p: &str| e.get(p).filter(|v| !v.is_null() && v.as_str() != Some(""));
    set(prop).or_else(|| fallback(prop).and_then(set))
}

/// The JSON object of a row (absent properties omitted).
pub fn json_row(e: &Entity) -> Value {
    let mut m = Map::new();
    for (name, prop) in COLUMNS {
        let v = if INTEGERS.contains(prop) {
            get_i64(e, prop).map(Value::from)
        } else {
            shown(e, prop).cloned()
        };
        if let Some(v) = v {
            m.insert((*name).to_owned(), v);
        }
    }
    Value::Object(m)
}

/// The CSV header line.
pub fn csv_header() -> String {
    csv::line(&COLUMNS.iter().map(|(n, _)| *n).collect::<Vec<_>>())
}

/// One CSV line of a row (absent properties empty).
pub fn csv_row(e: &Entity) -> String {
    csv::line(&csv_cells(e))
}

/// The CSV cells of a row, unescaped, in [`COLUMNS`] order (the evidence pack writes the same).
pub fn csv_cells(e: &Entity) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|(_, prop)| match shown(e, prop) {
            Some(Value::String(s)) => s.clone(),
            None => String::new(),
            Some(v) => get_str(e, prop).map_or_else(|| v.to_string(), str::to_owned),
        })
        .collect()
}
