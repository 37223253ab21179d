//! The loopback fake's `StorageBlobLogs` side: the custody queries' headers
//! read back, rows matched and projected with the table's column types.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::answers::{FakeRow, answer_body};
use bastion_recordings::dates::timestamp;

/// The table.
pub const TABLE: &str = "StorageBlobLogs";

/// A `StorageBlobLogs` row (its `Type` column set) visible from `visible_from`.
pub fn row(values: Map<String, Value>, visible_from: OffsetDateTime) -> FakeRow {
    FakeRow::of_table(TABLE, values, visible_from)
}

/// True for a row of this table (the audit side leaves them out).
pub fn is_blob_row(r: &FakeRow) -> bool {
    r.values.get("Type").and_then(Value::as_str) == Some(TABLE)
}

/// What the fake reads of a custody query.
pub struct BlobQuery {
    keys: Vec<String>,
    /// The period query's containers (`/<account>/<container>`), instead of keys.
    containers: Option<Vec<String>>,
    operations: Vec<String>,
    /// The most rows the query returns.
    pub limit: usize,
    columns: Vec<String>,
    span: Option<(OffsetDateTime, OffsetDateTime)>,
    /// The changes query's `ingestion_time()` bounds (`let ingested_from`, `let ingested_to`).
    ingested: Option<(OffsetDateTime, OffsetDateTime)>,
    /// Only successful requests (`StatusCode startswith "2"`).
    succeeded: bool,
}

/// The `datetime(…)` of a `let <name> = datetime(…);` line.
fn bound(query: &str, name: &str) -> Option<OffsetDateTime> {
    let line = query.lines().find_map(|l| l.strip_prefix(name))?;
    timestamp(
        line.strip_prefix("datetime(")?
            .trim_end_matches(';')
            .strip_suffix(')')?,
    )
}

/// The verbatim literals of a `pack_array(@"…", …)` (or `dynamic([])`) after `prefix`.
fn literals(query: &str, prefix: &str) -> Option<Vec<String>> {
    let line = query.lines().find_map(|l| l.strip_prefix(prefix))?;
    if line.starts_with("dynamic([])") {
        return Some(Vec::new());
    }
    let mut rest = line.strip_prefix("pack_array(")?;
    let mut out = Vec::new();
    while let Some(after) = rest.strip_prefix("@\"") {
        let (mut value, mut i) = (String::new(), 0);
        let b: Vec<char> = after.chars().collect();
        loop {
            match (b.get(i), b.get(i + 1)) {
                (Some('"'), Some('"')) => {
                    value.push('"');
                    i += 2;
                }
                (Some('"'), _) => break,
                (Some(c), _) => {
                    value.push(*c);
                    i += 1;
                }
                (None, _) => return None,
            }
        }
        out.push(value);
        let consumed: String = b[..=i].iter().collect();
        rest = after[consumed.len()..].trim_start_matches([',', ' ']);
    }
    rest.starts_with(')').then_some(out)
}

impl BlobQuery {
    /// Reads `query`; `None` when it is not the custody query's shape.
    pub fn new(query: &str, timespan: Option<&str>) -> Option<Self> {
        let limit = query
            .lines()
            .find_map(|l| l.strip_prefix("let limit = "))?
            .trim_end_matches(';')
            .parse()
            .ok()?;
        let columns = query
            .lines()
            .find_map(|l| l.strip_prefix("| project "))?
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect();
        let span = timespan.and_then(|t| {
            let (a, b) = t.split_once('/')?;
            Some((timestamp(a)?, timestamp(b)?))
        });
        let containers = literals(query, "let containers = ");
        let (keys, operations) = match containers {
            Some(_) => (
                Vec::new(),
                literals(query, "let operations = ").unwrap_or_default(),
            ),
            None => (
                literals(query, "let keys = ")?,
                literals(query, "let operations = ")?,
            ),
        };
        Some(Self {
            keys,
            containers,
            operations,
            limit,
            columns,
            span,
            ingested: bound(query, "let ingested_from = ").zip(bound(query, "let ingested_to = ")),
            succeeded: query.contains("| where StatusCode startswith \"2\""),
        })
    }

    /// True when `r` answers the query.
    pub fn matches(&self, r: &FakeRow) -> bool {
        let s = |k: &str| r.values.get(k).and_then(Value::as_str).unwrap_or_default();
        let generated = timestamp(s("TimeGenerated"));
        let in_span = self
            .span
            .is_none_or(|(a, b)| generated.is_some_and(|g| g >= a && g < b));
        let key = s("ObjectKey");
        let of_blob = match &self.containers {
            // The container's own key (`/<account>/<container>`) or a name in it.
            Some(cs) => cs.iter().any(|c| {
                key.strip_prefix(c.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }),
            None => self.keys.iter().any(|k| k == key),
        };
        let ingested = self
            .ingested
            .is_none_or(|(a, b)| r.ingested >= a && r.ingested < b);
        let succeeded = !self.succeeded || s("StatusCode").starts_with('2');
        is_blob_row(r)
            && of_blob
            && ingested
            && succeeded
            && (self.operations.is_empty()
                || self.operations.iter().any(|o| o == s("OperationName")))
            && in_span
    }

    /// The sort key (oldest first): `ingestion_time()` for the changes query, else `TimeGenerated`.
    pub fn order(&self, r: &FakeRow) -> Option<OffsetDateTime> {
        if self.ingested.is_some() {
            return Some(r.ingested);
        }
        r.values
            .get("TimeGenerated")
            .and_then(Value::as_str)
            .and_then(timestamp)
    }

    /// The answer body.
    pub fn body(&self, rows: &[&FakeRow], partial: bool) -> Vec<u8> {
        let kind = |c: &str| {
            ["string", "datetime"][usize::from(c == "TimeGenerated" || c == "IngestedAt")]
        };
        let cell = |r: &FakeRow, c: &str| match c {
            "IngestedAt" => Value::String(super::answers::format_utc_ticks(r.ingested)),
            c => r.values.get(c).cloned().unwrap_or(Value::Null),
        };
        answer_body(&self.columns, kind, rows, cell, partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_the_code_writes_reads_back() {
        let keys = bastion_recordings::custody::query::object_keys("a", "c", "x\"y <z>.mp4");
        let q = bastion_recordings::custody::query::text(&keys, &["DeleteBlob"], 7);
        let b = BlobQuery::new(&q, None).expect("parsed");
        assert_eq!(b.keys, keys);
        assert_eq!(b.operations, vec!["DeleteBlob".to_owned()]);
        assert_eq!(b.limit, 7);
        assert!(b.columns.contains(&"RequesterUpn".to_owned()));
        let all = bastion_recordings::custody::query::text(&keys, &[], 7);
        assert!(
            BlobQuery::new(&all, None)
                .expect("parsed")
                .operations
                .is_empty()
        );
    }
}
