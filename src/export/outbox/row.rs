//! The outbox's table name (its state rows, and the prefix of its buckets' names) and a row
//! waiting to be sent as read back ([`Unsent`]).

use crate::tables::{get_i64, get_str};

/// The outbox table (the state rows) and the prefix of its buckets' names.
pub const OUTBOX_TABLE: &str = "sentineloutbox";

/// One row waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    /// Its key (the cursor moves past it).
    pub row_key: String,
    /// Its ETag as read (removal is conditional on it).
    pub etag: String,
    /// The stable id.
    pub id: String,
    /// The row's time.
    pub at: String,
    /// The record's JSON text.
    pub record: String,
}

impl Unsent {
    pub(super) fn of(s: crate::tables::Stored) -> Option<Self> {
        let e = &s.entity;
        let parts = get_i64(e, "Parts").unwrap_or(0);
        let mut record = String::new();
        for i in 0..parts {
            record.push_str(get_str(e, &format!("R{i}"))?);
        }
        Some(Self {
            row_key: get_str(e, "RowKey")?.to_owned(),
            etag: s.etag,
            id: get_str(e, "Id").unwrap_or_default().to_owned(),
            at: get_str(e, "At").unwrap_or_default().to_owned(),
            record,
        })
    }
}
