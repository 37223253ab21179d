//! The rows waiting for the Logs Ingestion API, and per table the drain's lease, cursor and
//! progress. The one owner of the outbox's tables.
//!
//! | table | PK | RK | holds |
//! |---|---|---|---|
//! | `sentineloutbox` + the table key in lower case + the quarter hour written (`…detections202611271645`, [`buckets`]) | table key (`Detections`, `Reviews`, …) | row time (RFC 3339 ms) `~` encoded stable id | one row to send: `Id`, `At`, the record's JSON in `R0`, `R1`, … (`Parts`) |
//! | `sentineloutbox` | `~state` | table key | the drain's lease (`LeaseOwner`, `LeaseUntil`), cursor through the closed buckets (`Cursor`) and progress (`Sent`, `LastSentAt`, `LastError`, `LastErrorAt`) ([`mod@state`]) |
//!
//! Keyed by time and id, a partition reads in time order and a change recorded twice is one row
//! to send: within one bucket the second upsert replaces the first; in two buckets (a redelivery
//! as a quarter hour turns) the earlier bucket's row is retired unsent when a later bucket holds
//! the same key ([`superseded`]), so the last write wins either way. In an open bucket a sent row is removed only if unchanged (`If-Match`) and never
//! before the service accepted it; a closed bucket takes no writes, so a cursor move retires the
//! rows of a call and one Delete Table the bucket once its table's cursor has passed it. Fields over 64 KB are cut; the JSON is split into
//! parts that fit an entity's 1 MiB.

pub mod buckets;
mod retire;
pub mod row;
pub mod state;

use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::table::{ExportRow, Table};
use crate::azure::AzureError;
use crate::clock::Clock;
use crate::dates::format_utc_millis;
use crate::ingestion::pack::{cut_fields, cut_text};
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{page, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str, int64};
use crate::telemetry::text::char_floor;

pub use buckets::{Buckets, Listing, bucket_table};
pub use retire::{drop_sent, remove, remove_all, superseded};
pub use row::{OUTBOX_TABLE, Unsent};
pub use state::{Held, RunEnd, STATE_PK, StreamState, advance, claim, hold, release};

/// Bytes of a record's JSON per part property.
pub const PART_BYTES: usize = 30_000;
/// Most parts.
pub const MAX_PARTS: usize = 15;

/// Where rows are recorded: off (the Sentinel settings are unset) or the app's tables.
#[derive(Clone, Default)]
pub struct Outbox {
    on: Option<(Arc<dyn TableStore>, Arc<dyn Clock>)>,
}

crate::telemetry::debug_fields!(Outbox {});

impl Outbox {
    /// Records nothing.
    pub fn off() -> Self {
        Self::default()
    }

    /// Records into `tables`, in the bucket of the time `clock` tells.
    pub fn on(tables: Arc<dyn TableStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            on: Some((tables, clock)),
        }
    }

    /// True when rows are recorded.
    pub fn enabled(&self) -> bool {
        self.on.is_some()
    }

    /// Records `row` to be sent (an upsert into the bucket of now); nothing when off or `None`.
    ///
    /// # Errors
    /// Table errors; `Rejected` for a row that does not serialise to an object.
    pub async fn record<'r, R: ExportRow + 'r>(
        &self,
        row: impl Into<Option<&'r R>>,
    ) -> Result<(), AzureError> {
        let (Some((tables, clock)), Some(row)) = (&self.on, row.into()) else {
            return Ok(());
        };
        let entity = entity_of(row)?;
        let bucket = bucket_table(row.table(), clock.now());
        write_creating_table(tables.as_ref(), &bucket, &entity, WriteMode::Upsert).await?;
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

    let mut e = crate::tables::keyed(row.table().key(), row_key(row.time(), row.id()));
    e.insert("Id".into(), row.id().into());
    e.insert("At".into(), format_utc_millis(row.time()).into());
    let mut parts = 0;
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let at = char_floor(rest, PART_BYTES);
        e.insert(format!("R{parts}"), rest[..at].into());
        rest = &rest[at..];
        parts += 1;
    }
    int64(&mut e, "Parts", parts);
    Ok(e)
}

/// Up to `top` (at most 1,000) rows of `table` in the outbox table `name` after the key `after`,
/// in key order. A row whose parts cannot be read back is skipped here and left in place (and
/// counted by [`backlog`]).
///
/// # Errors
/// Table errors (an absent table is an empty outbox).
pub async fn unsent(
    tables: &dyn TableStore,
    name: &str,
    table: Table,
    after: Option<&str>,
    top: u32,
) -> Result<Vec<Unsent>, AzureError> {
    let mut filter = Filter::partition(table.key());
    if let Some(rk) = after {
        filter = Filter::And(vec![filter, Filter::str("RowKey", Op::Gt, rk)]);
    }
    let p = page(tables, name, &filter, top, None).await?;
    Ok(p.items.into_iter().filter_map(Unsent::of).collect())
}

/// What is waiting for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Rows counted (at most the cap).
    pub rows: usize,
    /// More rows than the cap.
    pub more: bool,
    /// The oldest row's time.
    pub oldest: Option<String>,
}

/// The rows of `table` waiting in its `buckets` (the closed ones after its cursor, the open ones
/// whole), counted up to `cap` (a page of at most 1,000 per bucket until the cap).
///
/// # Errors
/// Table errors.
pub async fn backlog(
    tables: &dyn TableStore,
    table: Table,
    buckets: &Buckets,
    cap: u32,
) -> Result<Backlog, AzureError> {
    let cursor = hold(tables, table).await?.state().cursor;
    let closed = buckets
        .closed
        .iter()
        .filter_map(|b| buckets::resume(&cursor, b).map(|after| (b, after)));
    let open = buckets.open.iter().map(|b| (b, None));
    let mut backlog = Backlog::default();
    for (name, after) in closed.chain(open) {
        let mut filter = Filter::partition(table.key());
        if let Some(rk) = after {
            filter = Filter::And(vec![filter, Filter::str("RowKey", Op::Gt, rk)]);
        }
        let room = cap.saturating_sub(u32::try_from(backlog.rows).unwrap_or(u32::MAX));
        if room == 0 {
            // Counted to the cap: only whether more wait.
            backlog.more |= !page(tables, name, &filter, 1, None).await?.items.is_empty();
            if backlog.more {
                break;
            }
            continue;
        }
        let p = page(tables, name, &filter, room, None).await?;
        backlog.rows += p.items.len();
        backlog.more |= p.next.is_some();
        let first = p.items.first().and_then(|s| get_str(&s.entity, "At"));
        if let Some(at) = first.filter(|a| backlog.oldest.as_deref().is_none_or(|o| *a < o)) {
            backlog.oldest = Some(at.to_owned());
        }
    }
    Ok(backlog)
}

#[cfg(test)]
/// Every row of `table` in the outbox's tables, sent or not (tests: what was recorded).
///
/// # Errors
/// Table errors.
pub async fn recorded(tables: &dyn TableStore, table: Table) -> Result<Vec<Unsent>, AzureError> {
    let mut rows = Vec::new();
    for name in tables.list_tables(OUTBOX_TABLE).await? {
        if buckets::bucket_of(&name).is_none_or(|(t, _)| t != table) {
            continue;
        }
        let mut after: Option<String> = None;
        loop {
            let page = unsent(tables, &name, table, after.as_deref(), 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.row_key.clone());
            rows.extend(page);
        }
    }
    Ok(rows)
}
