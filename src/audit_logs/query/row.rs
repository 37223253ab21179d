//! One `MicrosoftAzureBastionAuditLogs` row (values by column position) → the same [`Record`] a
//! `PT1H.json` line parses into. `SessionEndTime` is a string, empty while the session is open;
//! numbers and text are both accepted where either may come.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit_logs::parse::{Record, Text, timestamp};

/// The column the query adds with each row's `ingestion_time()`.
pub const INGESTED_AT: &str = "IngestedAt";

/// The category a storage record carries; the workspace's table is that category.
const CATEGORY: &str = "BastionAuditLogs";

/// Columns read; with [`INGESTED_AT`], what the query projects. Those of a record's top level are
/// renamed as a `PT1H.json` line spells them (`TOP_LEVEL`); the others are its properties, under
/// the names [`crate::audit_logs::parse::Properties`] reads as well. `_SubscriptionId` is the
/// Bastion's subscription, not the target's: not read.
pub const COLUMNS: [&str; 16] = [
    "TimeGenerated",
    "_ResourceId",
    "OperationName",
    "Message",
    "UserName",
    "UserEmail",
    "ClientIpAddress",
    "Protocol",
    "TargetResourceId",
    "TargetVMIPAddress",
    "ResourceType",
    "TunnelId",
    "SessionStartTime",
    "SessionEndTime",
    "ClientPort",
    "Duration",
];

/// The columns of a record's top level and the names a `PT1H.json` line gives them.
const TOP_LEVEL: [(&str, &str); 3] = [
    ("TimeGenerated", "time"),
    ("_ResourceId", "resourceId"),
    ("OperationName", "operationName"),
];

/// Every column the query projects, in order.
pub fn projected() -> impl Iterator<Item = &'static str> {
    std::iter::once(INGESTED_AT).chain(COLUMNS)
}

/// Where each read column sits in the answer's rows.
#[derive(Debug, Clone)]
pub struct Columns {
    ingested: usize,
    at: [Option<usize>; COLUMNS.len()],
    width: usize,
}

impl Columns {
    /// Positions from the answer's column names (case-sensitive, as KQL is).
    ///
    /// # Errors
    /// The answer has no [`INGESTED_AT`] column: nothing could place its rows in the cursor's slice.
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Result<Self, String> {
        let names: Vec<&str> = names.into_iter().collect();
        let at = |c: &str| names.iter().position(|n| *n == c);
        Ok(Self {
            ingested: at(INGESTED_AT)
                .ok_or_else(|| format!("the answer has no {INGESTED_AT} column"))?,
            at: COLUMNS.map(at),
            width: names.len(),
        })
    }
}

/// One workspace row, owned (the answer is read as a stream; a row outlives its buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRow {
    /// `ingestion_time()`: the cursor's axis.
    pub ingested: OffsetDateTime,
    /// First 8 bytes of SHA-256 over the row's values: with `ingested`, the row's identity for the
    /// overlap's de-duplication.
    pub digest: u64,
    /// The row shaped as a `PT1H.json` record.
    line: Value,
    /// The row as a JSON object of its columns: kept on the session row as `LastRaw` evidence.
    pub raw: String,
}

impl WorkspaceRow {
    /// The row with `values` in the answer's column order.
    ///
    /// # Errors
    /// A row of another width than the columns, or without a readable ingestion time.
    pub fn new(columns: &Columns, values: &[Value]) -> Result<Self, String> {
        if values.len() != columns.width {
            return Err(format!(
                "a row of {} values under {} columns",
                values.len(),
                columns.width
            ));
        }
        let ingested = values[columns.ingested]
            .as_str()
            .and_then(timestamp)
            .ok_or_else(|| format!("a row without a readable {INGESTED_AT}"))?;
        let mut properties: Map<String, Value> = (COLUMNS.iter().zip(columns.at))
            .filter_map(|(name, i)| Some(((*name).to_owned(), values[i?].clone())))
            .collect();
        let raw = serde_json::to_string(&properties).unwrap_or_default();
        let digest = Sha256::digest(raw.as_bytes())[..8].try_into();
        let mut line: Map<String, Value> = (TOP_LEVEL.iter())
            .filter_map(|(column, name)| Some(((*name).to_owned(), properties.remove(*column)?)))
            .collect();
        line.insert("properties".to_owned(), Value::Object(properties));
        Ok(Self {
            ingested,
            digest: u64::from_be_bytes(digest.unwrap_or_default()),
            line: Value::Object(line),
            raw,
        })
    }

    /// The audit record this row is: the fields a `PT1H.json` line carries under the names the
    /// storage archive uses (`time` = `TimeGenerated`, `resourceId` = `_ResourceId`, …), read
    /// as leniently.
    pub fn record(&self) -> Record<'_> {
        let mut record = Record::deserialize(&self.line).unwrap_or_default();
        record.category = Some(Text(Cow::Borrowed(CATEGORY)));
        // An open session's `SessionEndTime` is an empty string: no end.
        let end = &mut record.properties.session_end;
        *end = end.take().filter(|t| !t.as_str().trim().is_empty());
        record
    }
}

#[cfg(test)]
#[path = "row_tests.rs"]
mod tests;
