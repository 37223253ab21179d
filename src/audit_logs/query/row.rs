//! One `MicrosoftAzureBastionAuditLogs` row (values by column position) → the same [`Record`] a
//! `PT1H.json` line parses into. `SessionEndTime` is a string, empty while the session is open;
//! numbers and text are both accepted where either may come.

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit_logs::parse::{Num, Properties, Record, Text, timestamp};

/// The column the query adds with each row's `ingestion_time()`.
pub const INGESTED_AT: &str = "IngestedAt";

/// The category a storage record carries; the workspace's table is that category.
const CATEGORY: &str = "BastionAuditLogs";

/// Text columns read; with [`INGESTED_AT`] and [`NUM_COLUMNS`], what the query projects.
pub const TEXT_COLUMNS: [&str; 14] = [
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
];

/// Numeric columns read.
pub const NUM_COLUMNS: [&str; 2] = ["ClientPort", "Duration"];

/// Every column the query projects, in order.
pub fn projected() -> impl Iterator<Item = &'static str> {
    std::iter::once(INGESTED_AT)
        .chain(TEXT_COLUMNS)
        .chain(NUM_COLUMNS)
}

/// Where each read column sits in the answer's rows.
#[derive(Debug, Clone)]
pub struct Columns {
    ingested: usize,
    text: [Option<usize>; TEXT_COLUMNS.len()],
    num: [Option<usize>; NUM_COLUMNS.len()],
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
            text: TEXT_COLUMNS.map(at),
            num: NUM_COLUMNS.map(at),
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
    text: [Option<String>; TEXT_COLUMNS.len()],
    num: [Option<i64>; NUM_COLUMNS.len()],
    /// The row as a JSON object of its columns: kept on the session row as `LastRaw` evidence.
    pub raw: String,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(_) | Value::Object(_) => Some(String::new()),
    }
}

fn num_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().and_then(|f| Num::from_text(&f.to_string()).0)),
        Value::String(s) => Num::from_text(s).0,
        _ => None,
    }
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
        let pick = |i: Option<usize>| i.map(|i| &values[i]);
        let mut raw = serde_json::Map::new();
        for (name, v) in TEXT_COLUMNS
            .iter()
            .chain(NUM_COLUMNS.iter())
            .zip(columns.text.iter().chain(columns.num.iter()))
        {
            if let Some(v) = pick(*v) {
                raw.insert((*name).to_owned(), v.clone());
            }
        }
        let raw = Value::Object(raw).to_string();
        let digest = Sha256::digest(raw.as_bytes())[..8].try_into();
        Ok(Self {
            ingested,
            digest: u64::from_be_bytes(digest.unwrap_or_default()),
            text: columns.text.map(|i| pick(i).and_then(text_of)),
            num: columns.num.map(|i| pick(i).and_then(num_of)),
            raw,
        })
    }

    fn field(&self, name: &str) -> Option<Text<'_>> {
        let i = TEXT_COLUMNS.iter().position(|c| *c == name)?;
        self.text[i].as_deref().map(|s| Text(Cow::Borrowed(s)))
    }

    fn number(&self, name: &str) -> Option<Num> {
        let i = NUM_COLUMNS.iter().position(|c| *c == name)?;
        self.num[i].map(|n| Num(Some(n)))
    }

    /// The audit record this row is: the fields a `PT1H.json` line carries under the names the
    /// storage archive uses (`time` = `TimeGenerated`, `resourceId` = `_ResourceId`, …).
    pub fn record(&self) -> Record<'_> {
        Record {
            time: self.field("TimeGenerated"),
            resource_id: self.field("_ResourceId"),
            operation_name: self.field("OperationName"),
            category: Some(Text(Cow::Borrowed(CATEGORY))),
            properties: Properties {
                user_name: self.field("UserName"),
                user_email: self.field("UserEmail"),
                client_ip: self.field("ClientIpAddress"),
                client_port: self.number("ClientPort"),
                protocol: self.field("Protocol"),
                target_resource_id: self.field("TargetResourceId"),
                target_ip: self.field("TargetVMIPAddress"),
                resource_type: self.field("ResourceType"),
                // `_SubscriptionId` is the Bastion's subscription, not the target's: not mapped.
                subscription_id: None,
                message: self.field("Message"),
                tunnel_id: self.field("TunnelId"),
                session_start: self.field("SessionStartTime"),
                // An open session's `SessionEndTime` is an empty string: no end.
                session_end: self
                    .field("SessionEndTime")
                    .filter(|t| !t.as_str().trim().is_empty()),
                duration: self.number("Duration"),
            },
        }
    }
}

#[cfg(test)]
#[path = "row_tests.rs"]
mod tests;
