//! One join pass at a time, across instances: the lease row of table `joinstate`
//! ([`crate::tables::lease`]), which also keeps the pass's cursor over the recordings' due times.
//!
//! Why a lease: a pass writes each session's recorded state from the recordings it read. Two
//! passes overlapping in time could write in the other order than they read (the one that read
//! first writing last), leaving a session's state without a recording that had joined it.

use time::OffsetDateTime;

use crate::dates::{format_utc_millis, timestamp};
use crate::tables::{Entity, Stored, TableError, TableStore, get_str, ops};

/// Table of the join's own state.
pub const STATE_TABLE: &str = "joinstate";
/// The lease row.
pub const ROW: (&str, &str) = ("join", "pass");

/// The lease row as read, and the cursor it keeps: recordings whose `JoinDue` is later were not
/// decided by a pass yet.
///
/// # Errors
/// Table errors.
pub async fn read(
    tables: &dyn TableStore,
) -> Result<(Option<Stored>, Option<OffsetDateTime>), TableError> {
    let row = ops::get(tables, STATE_TABLE, ROW.0, ROW.1).await?;
    let cursor = row.as_ref().and_then(|r| cursor_of(&r.entity));
    Ok((row, cursor))
}

fn cursor_of(e: &Entity) -> Option<OffsetDateTime> {
    get_str(e, "DueCursor").and_then(timestamp)
}

/// The properties that record `cursor`.
pub fn cursor(cursor: OffsetDateTime) -> Entity {
    let mut e = Entity::new();
    e.insert("DueCursor".into(), format_utc_millis(cursor).into());
    e
}
