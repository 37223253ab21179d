//! One join pass at a time, across instances: a lease row (table `joinstate`) taken with an
//! ETag-conditional write and held for the pass's time budget, plus the pass's cursor over the
//! recordings' due times.
//!
//! Why a lease: a pass writes each session's recorded state from the recordings it read. Two
//! passes overlapping in time could write in the other order than they read (the one that read
//! first writing last), leaving a session's state without a recording that had joined it. One pass
//! at a time rules that out; a pass that finds the lease held skips (the holder, or the next tick,
//! does the work). A holder that dies frees it when its time runs out.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::dates::{format_utc_millis, timestamp};
use crate::tables::ops::{get, update_from};
use crate::tables::{Entity, Stored, TableError, TableStore, get_str};

/// Table of the join's own state.
pub const STATE_TABLE: &str = "joinstate";
const PK: &str = "join";
const RK: &str = "pass";

/// The lease row as read: who may hold it, and the cursor.
#[derive(Debug)]
pub struct State {
    row: Option<Stored>,
    /// The recordings whose `JoinDue` is after this were not decided by a pass yet.
    pub cursor: Option<OffsetDateTime>,
}

/// A lease held by this pass.
#[derive(Debug)]
pub struct Lease {
    row: Stored,
    cursor: Option<OffsetDateTime>,
}

fn row(owner: &str, until: OffsetDateTime, cursor: Option<OffsetDateTime>) -> Entity {
    let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
    let v = json!({"PartitionKey": PK, "RowKey": RK, "Owner": owner, "Until": t(Some(until)), "DueCursor": t(cursor)});
    v.as_object().cloned().unwrap_or_default()
}

/// Reads the lease row.
///
/// # Errors
/// Table errors.
pub async fn read(tables: &dyn TableStore) -> Result<State, TableError> {
    let row = get(tables, STATE_TABLE, PK, RK).await?;
    let cursor = row
        .as_ref()
        .and_then(|r| get_str(&r.entity, "DueCursor"))
        .and_then(timestamp);
    Ok(State { row, cursor })
}

impl State {
    /// Takes the lease until `now + hold` unless another holder's lease is still running (`None`
    /// then), starting from the row as read.
    ///
    /// # Errors
    /// Table errors.
    pub async fn take(
        self,
        tables: &dyn TableStore,
        now: OffsetDateTime,
        hold: Duration,
    ) -> Result<Option<Lease>, TableError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let mut cursor = self.cursor;
        let taken = update_from(tables, STATE_TABLE, PK, RK, self.row, &mut |cur| {
            let e = cur.map(|c| &c.entity);
            let until = e.and_then(|e| get_str(e, "Until")).and_then(timestamp);
            if until.is_some_and(|u| u > now) {
                return None;
            }
            cursor = e.and_then(|e| get_str(e, "DueCursor")).and_then(timestamp);
            Some(row(&owner, now + hold, cursor))
        })
        .await;
        match taken {
            Ok(Some(row)) if get_str(&row.entity, "Owner") == Some(owner.as_str()) => {
                Ok(Some(Lease { row, cursor }))
            }
            Ok(_) => Ok(None),
            // Another pass took it between our read and write, every attempt.
            Err(TableError::Transient(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Lease {
    /// Frees the lease, recording `cursor` (what the pass decided up to). A lease taken over
    /// meanwhile (this pass outlived it) is left to its new holder.
    ///
    /// # Errors
    /// Table errors.
    pub async fn release(
        self,
        tables: &dyn TableStore,
        now: OffsetDateTime,
        cursor: Option<OffsetDateTime>,
    ) -> Result<(), TableError> {
        let e = row("", now, cursor.or(self.cursor));
        match tables
            .write(
                STATE_TABLE,
                &e,
                crate::tables::WriteMode::IfMatch(self.row.etag),
            )
            .await
        {
            Ok(_) | Err(TableError::PreconditionFailed | TableError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
