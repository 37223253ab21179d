//! Table `sentineloutbox`: the rows waiting for the Logs Ingestion API, and per table the drain's
//! lease and progress. The one owner of its rows.
//!
//! | PK | RK | holds |
//! |---|---|---|
//! | table key (`Detections`, `Reviews`, …) | row time (RFC 3339 ms) `~` encoded stable id | one row to send: `Id`, `At`, the record's JSON in `R0`, `R1`, … (`Parts`) |
//! | `~state` | table key | the drain's lease (`LeaseOwner`, `LeaseUntil`) and progress (`Sent`, `LastSentAt`, `LastError`, `LastErrorAt`) |
//!
//! Keyed by time and id, a partition reads in time order and a change recorded twice is one row;
//! a sent row is removed only if unchanged (`If-Match`) and never before the service accepted it.
//! Fields over 64 KB are cut; the JSON is split into parts that fit an entity's 1 MiB.

use std::sync::Arc;

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::{ExportRow, Table};
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::ingestion::pack::{cut_fields, cut_text};
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, page, update, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_i64, get_str, int64};

/// The outbox table.
pub const OUTBOX_TABLE: &str = "sentineloutbox";
/// Partition of the per-table state rows (`~` sorts after every table key).
pub const STATE_PK: &str = "~state";
/// Bytes of a record's JSON per part property.
pub const PART_BYTES: usize = 30_000;
/// Most parts.
pub const MAX_PARTS: usize = 15;

/// Where rows are recorded: off (the Sentinel settings are unset) or the app's tables.
#[derive(Clone, Default)]
pub struct Outbox {
    tables: Option<Arc<dyn TableStore>>,
}

crate::telemetry::debug_fields!(Outbox {});

impl Outbox {
    /// Records nothing.
    pub fn off() -> Self {
        Self::default()
    }

    /// Records into `tables`.
    pub fn on(tables: Arc<dyn TableStore>) -> Self {
        Self {
            tables: Some(tables),
        }
    }

    /// True when rows are recorded.
    pub fn enabled(&self) -> bool {
        self.tables.is_some()
    }

    /// Records `row` to be sent (an upsert); nothing when off.
    ///
    /// # Errors
    /// Table errors; `Rejected` for a row that does not serialise to an object.
    pub async fn record<R: ExportRow + ?Sized>(&self, row: &R) -> Result<(), AzureError> {
        let Some(tables) = &self.tables else {
            return Ok(());
        };
        let entity = entity_of(row)?;
        write_creating_table(tables.as_ref(), OUTBOX_TABLE, &entity, WriteMode::Upsert).await?;
        Ok(())
    }
}

/// The outbox row key of a row at `time` with id `id`.
pub fn row_key(time: OffsetDateTime, id: &str) -> String {
    let time = format_utc_millis(time);
    let room = MAX_KEY_BYTES - time.len() - 1;
    format!("{time}~{}", key(id, Spelling::Encoded, room))
}

/// The outbox entity of `row`: its columns, fields over 64 KB cut, within [`MAX_PARTS`] parts.
///
/// # Errors
/// `Rejected` when the row does not serialise to a JSON object.
pub fn entity_of<R: ExportRow + ?Sized>(row: &R) -> Result<Entity, AzureError> {
    let Ok(Value::Object(mut record)) = serde_json::to_value(row) else {
        let why = format!("{}: the row is not a JSON object", row.table().key());
        return Err(AzureError::refused(400, "InvalidInput", &why));
    };
    cut_fields(&mut record);
    let mut text = Value::Object(record.clone()).to_string();
    // Still too long for one entity: halve the longest text until it fits.
    while text.len() > PART_BYTES * MAX_PARTS {
        let Some((name, len)) = longest(&record) else {
            break;
        };
        let cut = record
            .get(&name)
            .and_then(Value::as_str)
            .map(|s| cut_text(s, len / 2))
            .unwrap_or_default();
        record.insert(name, Value::String(cut));
        text = Value::Object(record.clone()).to_string();
    }

    fn longest(record: &Map<String, Value>) -> Option<(String, usize)> {
        record
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.len())))
            .filter(|(_, n)| *n > 64)
            .max_by_key(|(_, n)| *n)
    }

    let mut e = Entity::new();
    e.insert("PartitionKey".into(), row.table().key().into());
    e.insert("RowKey".into(), row_key(row.time(), row.id()).into());
    e.insert("Id".into(), row.id().into());
    e.insert("At".into(), format_utc_millis(row.time()).into());
    let mut parts = 0;
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut at = rest.len().min(PART_BYTES);
        while !rest.is_char_boundary(at) {
            at -= 1;
        }
        e.insert(format!("R{parts}"), rest[..at].into());
        rest = &rest[at..];
        parts += 1;
    }
    int64(&mut e, "Parts", parts);
    Ok(e)
}

/// One row waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
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

impl Pending {
    fn of(s: crate::tables::Stored) -> Option<Self> {
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

/// Up to `top` (at most 1,000) rows of `table` after the key `after`, in key order. A row whose
/// parts cannot be read back is skipped here and left in place (and counted by [`backlog`]).
///
/// # Errors
/// Table errors (an absent table is an empty outbox).
pub async fn pending(
    tables: &dyn TableStore,
    table: Table,
    after: Option<&str>,
    top: u32,
) -> Result<Vec<Pending>, AzureError> {
    let mut filter = Filter::partition(table.key());
    if let Some(rk) = after {
        filter = Filter::And(vec![filter, Filter::str("RowKey", Op::Gt, rk)]);
    }
    let p = page(tables, OUTBOX_TABLE, &filter, top, None).await?;
    Ok(p.items.into_iter().filter_map(Pending::of).collect())
}

/// Removes a sent row if it is still as read: `false` when it changed since (it stays).
///
/// # Errors
/// Table errors.
pub async fn remove(
    tables: &dyn TableStore,
    table: Table,
    row: &Pending,
) -> Result<bool, AzureError> {
    match tables
        .delete(OUTBOX_TABLE, table.key(), &row.row_key, Some(&row.etag))
        .await
    {
        Ok(()) | Err(AzureError::NotFound) => Ok(true),
        Err(AzureError::PreconditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the sent `rows` (transactions of 100, redone row by row when refused), each only if
/// unchanged: `(removed, changed since read, failed)`.
pub async fn remove_all(
    tables: &dyn TableStore,
    table: Table,
    rows: &[Pending],
) -> (usize, usize, usize) {
    let (mut removed, mut changed, mut failed) = (0, 0, 0);
    for chunk in rows.chunks(crate::tables::MAX_BATCH) {
        let deletes: Vec<(Entity, WriteMode)> = chunk
            .iter()
            .map(|p| {
                let mut e = Entity::new();
                e.insert("PartitionKey".into(), table.key().into());
                e.insert("RowKey".into(), p.row_key.clone().into());
                (e, WriteMode::Delete(p.etag.clone()))
            })
            .collect();
        if tables.batch(OUTBOX_TABLE, &deletes).await.is_ok() {
            removed += chunk.len();
            continue;
        }
        for p in chunk {
            match remove(tables, table, p).await {
                Ok(true) => removed += 1,
                Ok(false) => changed += 1,
                Err(_) => failed += 1,
            }
        }
    }
    (removed, changed, failed)
}

/// What is waiting in one table's partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Rows counted (at most the cap).
    pub rows: usize,
    /// More rows than the cap.
    pub more: bool,
    /// The oldest row's time.
    pub oldest: Option<String>,
}

/// The rows of `table` waiting, counted up to `cap` (one page of at most 1,000).
///
/// # Errors
/// Table errors.
pub async fn backlog(
    tables: &dyn TableStore,
    table: Table,
    cap: u32,
) -> Result<Backlog, AzureError> {
    let p = page(
        tables,
        OUTBOX_TABLE,
        &Filter::partition(table.key()),
        cap,
        None,
    )
    .await?;
    Ok(Backlog {
        rows: p.items.len(),
        more: p.next.is_some(),
        oldest: p
            .items
            .first()
            .and_then(|s| get_str(&s.entity, "At"))
            .map(str::to_owned),
    })
}

/// The drain's state of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamState {
    /// Who holds the lease.
    pub lease_owner: String,
    /// Until when.
    pub lease_until: Option<OffsetDateTime>,
    /// Rows sent in all.
    pub sent: i64,
    /// When rows were last accepted.
    pub last_sent_at: Option<String>,
    /// The last run's error, empty when it ended well.
    pub last_error: String,
    /// When that error happened.
    pub last_error_at: Option<String>,
}

impl StreamState {
    fn of(e: &Entity) -> Self {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let opt = |k: &str| get_str(e, k).filter(|v| !v.is_empty()).map(str::to_owned);
        Self {
            lease_owner: s("LeaseOwner"),
            lease_until: get_str(e, "LeaseUntil").and_then(timestamp),
            sent: get_i64(e, "Sent").unwrap_or(0),
            last_sent_at: opt("LastSentAt"),
            last_error: s("LastError"),
            last_error_at: opt("LastErrorAt"),
        }
    }

    fn write(&self, e: &mut Entity) {
        e.insert("LeaseOwner".into(), self.lease_owner.clone().into());
        let until = self.lease_until.map(format_utc_millis).unwrap_or_default();
        e.insert("LeaseUntil".into(), until.into());
        int64(e, "Sent", self.sent);
        let opt = |v: &Option<String>| Value::from(v.clone().unwrap_or_default());
        e.insert("LastSentAt".into(), opt(&self.last_sent_at));
        e.insert("LastError".into(), self.last_error.clone().into());
        e.insert("LastErrorAt".into(), opt(&self.last_error_at));
    }
}

/// The drain's state of `table` (`None` before its first run).
///
/// # Errors
/// Table errors.
pub async fn state(
    tables: &dyn TableStore,
    table: Table,
) -> Result<Option<StreamState>, AzureError> {
    Ok(get(tables, OUTBOX_TABLE, STATE_PK, table.key())
        .await?
        .map(|s| StreamState::of(&s.entity)))
}

/// Takes `table`'s lease for `owner` until `now + lease` when it is free, expired or already
/// `owner`'s (ETag-conditional: of two instances one wins). True when `owner` holds it.
///
/// # Errors
/// Table errors.
pub async fn claim(
    tables: &dyn TableStore,
    table: Table,
    owner: &str,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<bool, AzureError> {
    let mut won = false;
    update_state(tables, table, &mut |st| {
        won = st.lease_owner.is_empty()
            || st.lease_owner == owner
            || st.lease_until.is_none_or(|u| u <= now);
        if won {
            st.lease_owner = owner.to_owned();
            st.lease_until = Some(now + lease);
        }
        won
    })
    .await?;
    Ok(won)
}

/// Lets `change` edit `table`'s state row (conditionally); nothing is written when it says false.
async fn update_state(
    tables: &dyn TableStore,
    table: Table,
    change: &mut (dyn FnMut(&mut StreamState) -> bool + Send),
) -> Result<(), AzureError> {
    update(tables, OUTBOX_TABLE, STATE_PK, table.key(), &mut |cur| {
        let mut st = cur.map(|s| StreamState::of(&s.entity)).unwrap_or_default();
        if !change(&mut st) {
            return None;
        }
        let mut e = cur.map(|s| s.entity.clone()).unwrap_or_default();
        st.write(&mut e);
        Some(e)
    })
    .await?;
    Ok(())
}

/// How one run of one table ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunEnd {
    /// Rows the service accepted.
    pub sent: usize,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// Releases `owner`'s lease on `table` and adds the run's progress.
///
/// # Errors
/// Table errors.
pub async fn release(
    tables: &dyn TableStore,
    table: Table,
    owner: &str,
    now: OffsetDateTime,
    end: &RunEnd,
) -> Result<(), AzureError> {
    let at = format_utc_millis(now);
    update_state(tables, table, &mut |st| {
        if st.lease_owner == owner {
            st.lease_owner.clear();
            st.lease_until = None;
        }
        st.sent += i64::try_from(end.sent).unwrap_or(i64::MAX);
        if end.sent > 0 {
            st.last_sent_at = Some(at.clone());
        }
        match &end.error {
            Some(e) => {
                st.last_error.clone_from(e);
                st.last_error_at = Some(at.clone());
            }
            None => st.last_error.clear(),
        }
        true
    })
    .await
}
