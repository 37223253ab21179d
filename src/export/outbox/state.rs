//! The drain's state of each table (row `~state`/table key of the outbox table): its lease, its
//! cursor through the closed buckets, and its progress. Every change is conditional (`If-Match`).

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::row::OUTBOX_TABLE;
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::export::table::Table;
use crate::tables::Stored;
use crate::tables::ops::{get, update_from};
use crate::tables::{Entity, TableStore, get_i64, get_str, int64};

/// Partition of the per-table state rows (`~` sorts after every table key).
pub const STATE_PK: &str = "~state";

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
    /// How far the closed buckets were sent: `bucket/row key` of the last row accepted, or
    /// `bucket/~` once every row of that bucket was (empty before the first).
    pub cursor: String,
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
            cursor: s("Cursor"),
        }
    }

    /// True when an owner other than `owner` holds a lease still running at `now`.
    pub fn leased_by_other(&self, owner: &str, now: OffsetDateTime) -> bool {
        !self.lease_owner.is_empty()
            && self.lease_owner != owner
            && self.lease_until.is_some_and(|u| u > now)
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
        e.insert("Cursor".into(), self.cursor.clone().into());
    }
}

/// `table`'s state row as this run last read or wrote it: a change is written against it, one
/// call while no other instance wrote since (else the row is read again and the change asked
/// again).
#[derive(Debug, Clone, Default)]
pub struct Held(Option<Stored>);

impl Held {
    /// The state it holds (the default before the table's first run).
    pub fn state(&self) -> StreamState {
        self.0
            .as_ref()
            .map(|s| StreamState::of(&s.entity))
            .unwrap_or_default()
    }
}

/// Reads `table`'s state row, to change it later ([`claim`], [`advance`], [`release`]).
///
/// # Errors
/// Table errors.
pub async fn hold(tables: &dyn TableStore, table: Table) -> Result<Held, AzureError> {
    Ok(Held(
        get(tables, OUTBOX_TABLE, STATE_PK, table.key()).await?,
    ))
}

/// Takes `table`'s lease for `owner` until `now + lease` when it is free, expired or already
/// `owner`'s (ETag-conditional: of two instances one wins). True when `owner` holds it.
///
/// # Errors
/// Table errors.
pub async fn claim(
    tables: &dyn TableStore,
    table: Table,
    held: &mut Held,
    owner: &str,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<bool, AzureError> {
    let mut won = false;
    update_state(tables, table, held, &mut |st| {
        won = !st.leased_by_other(owner, now);
        if won {
            st.lease_owner = owner.to_owned();
            st.lease_until = Some(now + lease);
        }
        won
    })
    .await?;
    Ok(won)
}

/// Moves `table`'s cursor to `cursor` when that is further (a cursor never moves back: of two
/// instances sending at once, the one further on has sent every row before it).
///
/// # Errors
/// Table errors.
pub async fn advance(
    tables: &dyn TableStore,
    table: Table,
    held: &mut Held,
    cursor: &str,
) -> Result<(), AzureError> {
    update_state(tables, table, held, &mut |st| {
        let further = cursor > st.cursor.as_str();
        if further {
            cursor.clone_into(&mut st.cursor);
        }
        further
    })
    .await
}

/// Lets `change` edit `table`'s state row (conditionally, against `held`, which then holds the
/// row as stored); nothing is written when it says false.
async fn update_state(
    tables: &dyn TableStore,
    table: Table,
    held: &mut Held,
    change: &mut (dyn FnMut(&mut StreamState) -> bool + Send),
) -> Result<(), AzureError> {
    let key = table.key();
    let current = held.0.take();
    held.0 = update_from(tables, OUTBOX_TABLE, STATE_PK, key, current, &mut |cur| {
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
    /// The cursor past the table's last bucket, when that closed bucket was sent to its end: moved
    /// with the release (one write).
    pub cursor: Option<String>,
}

/// Releases `owner`'s lease on `table`, adds the run's progress and moves its cursor to the
/// run's end's.
///
/// # Errors
/// Table errors.
pub async fn release(
    tables: &dyn TableStore,
    table: Table,
    held: &mut Held,
    owner: &str,
    now: OffsetDateTime,
    end: &RunEnd,
) -> Result<(), AzureError> {
    let at = format_utc_millis(now);
    update_state(tables, table, held, &mut |st| {
        if st.lease_owner == owner {
            st.lease_owner.clear();
            st.lease_until = None;
        }
        if let Some(cursor) = end.cursor.as_deref().filter(|c| *c > st.cursor.as_str()) {
            cursor.clone_into(&mut st.cursor);
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

#[cfg(test)]
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
