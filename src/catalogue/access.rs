//! Table `accessaudit`: who read what of the catalogue, when and from where — written by the API
//! before it answers (no row, no answer), read by the evidence pack. `PartitionKey` = access day,
//! `RowKey` = time + random suffix.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::{format_date, format_utc_millis};
use crate::storage::links::Link;
use crate::tables::ops::{insert_once, query_all};
use crate::tables::{Entity, Filter, TableStore};

/// Table of access-audit rows.
pub const ACCESS_AUDIT_TABLE: &str = "accessaudit";

/// Who read what, when, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Principal name.
    pub who: String,
    /// Client address.
    pub ip: String,
    /// `User-Agent`.
    pub agent: String,
}

/// Writes one access-audit row, with the read link's issuance when one was asked for (`Link`:
/// "issued until …" or "unavailable: …").
pub async fn audit(
    tables: &dyn TableStore,
    access: &Access,
    action: &str,
    target: &str,
    outcome: &str,
    now: OffsetDateTime,
    link: Option<&Link>,
) -> Result<(), AzureError> {
    let at = format_utc_millis(now);
    let mut e = json!({
        "PartitionKey": format_date(now.date()),
        "RowKey": format!("{at}-{}", uuid::Uuid::new_v4().simple()),
        "Who": access.who, "Action": action, "Target": target, "Outcome": outcome,
        "At": at, "ClientIp": access.ip, "UserAgent": access.agent,
    });
    if let Some(l) = link {
        e["Link"] = Value::String(l.audit_text());
    }
    let Value::Object(e) = e else { return Ok(()) };
    // The key ends in a fresh UUID: a row there is the client's retry meeting the row its first
    // attempt stored (the answer lost), so the access is recorded.
    insert_once(tables, ACCESS_AUDIT_TABLE, &e).await.map(drop)
}

/// The access-audit rows of access day `day`, as stored (the evidence pack copies their columns).
///
/// # Errors
/// Table errors.
pub async fn in_day(tables: &dyn TableStore, day: &str) -> Result<Vec<Entity>, AzureError> {
    let rows = query_all(
        tables,
        ACCESS_AUDIT_TABLE,
        &Filter::partition(day),
        usize::MAX,
    )
    .await?;
    Ok(rows.into_iter().map(|s| s.entity).collect())
}
