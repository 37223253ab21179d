//! Table `workunits`, written here only: per timer (the partition) one planning row per period
//! (`plan~<period>`, inserted once) and one row per unit (`unit~<key>`) carrying its last period,
//! its state (`running`, `done`, `failed`, `poisoned`) and, while it runs, its owner and term.
//! Every write is the one ETag-conditional update ([`update`]), so of two instances one wins.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use super::Unit;
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, update, write_unless_changed};
use crate::tables::{Entity, Filter, Stored, TableStore, get_i64, get_str, int64};

/// The table.
pub const WORK_TABLE: &str = "workunits";
/// Row-key prefix of a planning row.
pub const PLAN_PREFIX: &str = "plan~";
/// Row-key prefix of a unit row.
pub const UNIT_PREFIX: &str = "unit~";
/// Most unit rows read per timer.
pub const MAX_UNITS: usize = 20_000;

/// A unit's state on its row.
pub mod state {
    /// Claimed by an instance, until its term.
    pub const RUNNING: &str = "running";
    /// Done for its period.
    pub const DONE: &str = "done";
    /// Failed; the queue delivers it again.
    pub const FAILED: &str = "failed";
    /// Failed on its last delivery: the host moved it to the poison queue.
    pub const POISONED: &str = "poisoned";
}

fn unit_key(unit: &str) -> String {
    [
        UNIT_PREFIX,
        &key(unit, Spelling::Encoded, MAX_KEY_BYTES - 8),
    ]
    .concat()
}

/// Is the row a unit running (claimed, its term not over) at `now`?
pub fn is_running(e: &Entity, now: OffsetDateTime) -> bool {
    get_str(e, "State") == Some(state::RUNNING)
        && get_str(e, "Until")
            .and_then(timestamp)
            .is_some_and(|u| u > now)
}

/// The rows of `timer` (its plans and units).
///
/// # Errors
/// Table errors.
pub async fn rows(tables: &dyn TableStore, timer: &str) -> Result<Vec<Stored>, AzureError> {
    query_all(tables, WORK_TABLE, &Filter::partition(timer), MAX_UNITS).await
}

/// The units of `timer` running at `now`.
///
/// # Errors
/// Table errors.
pub async fn running(
    tables: &dyn TableStore,
    timer: &str,
    now: OffsetDateTime,
) -> Result<BTreeSet<String>, AzureError> {
    Ok(rows(tables, timer)
        .await?
        .iter()
        .filter(|r| is_running(&r.entity, now))
        .filter_map(|r| get_str(&r.entity, "Unit").map(str::to_owned))
        .collect())
}

/// Inserts the planning row of `timer`'s `period`: true when this call wrote it.
///
/// # Errors
/// Table errors.
pub async fn record_plan(
    tables: &dyn TableStore,
    timer: &str,
    period: &str,
    planned: usize,
    running: usize,
    now: OffsetDateTime,
) -> Result<bool, AzureError> {
    let me = uuid::Uuid::new_v4().to_string();
    let rk = [PLAN_PREFIX, period].concat();
    let row = update(tables, WORK_TABLE, timer, &rk, &mut |cur| {
        if cur.is_some() {
            return None;
        }
        let mut e = Entity::new();
        e.insert("Planner".into(), me.clone().into());
        e.insert("Period".into(), period.into());
        e.insert("PlannedAt".into(), format_utc_millis(now).into());
        int64(
            &mut e,
            "Planned",
            i64::try_from(planned).unwrap_or(i64::MAX),
        );
        int64(
            &mut e,
            "Running",
            i64::try_from(running).unwrap_or(i64::MAX),
        );
        Some(e)
    })
    .await?;
    Ok(row.is_some_and(|r| get_str(&r.entity, "Planner") == Some(me.as_str())))
}

/// Why a delivered unit is not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// Done already for its period (a duplicate delivery).
    Done,
    /// A later period's unit ran or runs: this one is superseded.
    Superseded,
    /// Another instance runs it now (its own delivery fails over when it dies).
    RunningElsewhere,
}

/// A unit this delivery runs: its row as claimed.
#[derive(Debug)]
pub struct Claimed {
    row: Stored,
}

/// Claims `u`'s row for this delivery until `now + term`: `Err(passed)` when it is not to run.
/// A redelivery (`dequeue` > 1) of the unit's own period takes it over from a claim that died.
///
/// # Errors
/// Table errors.
pub async fn claim(
    tables: &dyn TableStore,
    u: &Unit,
    dequeue: u32,
    now: OffsetDateTime,
    term: Duration,
) -> Result<Result<Claimed, Passed>, AzureError> {
    let me = uuid::Uuid::new_v4().to_string();
    let mut passed = Passed::RunningElsewhere;
    let row = update(
        tables,
        WORK_TABLE,
        &u.timer,
        &unit_key(&u.unit),
        &mut |cur| {
            let e = cur.map(|c| c.entity.clone()).unwrap_or_default();
            let period = get_str(&e, "Period").unwrap_or_default();
            let state = get_str(&e, "State").unwrap_or_default();
            if period > u.period.as_str() {
                passed = Passed::Superseded;
                return None;
            }
            let same = period == u.period;
            if same && state == state::DONE {
                passed = Passed::Done;
                return None;
            }
            if is_running(&e, now) && !(same && dequeue > 1) {
                passed = Passed::RunningElsewhere;
                return None;
            }
            let tries = if same {
                get_i64(&e, "Tries").unwrap_or(0)
            } else {
                0
            };
            let mut next = e.clone();
            next.insert("Unit".into(), u.unit.clone().into());
            next.insert("Period".into(), u.period.clone().into());
            next.insert("State".into(), state::RUNNING.into());
            next.insert("Owner".into(), me.clone().into());
            next.insert("Until".into(), format_utc_millis(now + term).into());
            next.insert("Error".into(), "".into());
            int64(&mut next, "Tries", tries + 1);
            Some(next)
        },
    )
    .await?;
    Ok(match row {
        Some(row) if get_str(&row.entity, "Owner") == Some(me.as_str()) => Ok(Claimed { row }),
        _ => Err(passed),
    })
}

/// Records how a claimed unit ended at `now`: `state` ([`state::DONE`], [`state::FAILED`],
/// [`state::POISONED`]) and the error; a claim taken over meanwhile keeps its new owner's row.
///
/// # Errors
/// Table errors.
pub async fn finish(
    tables: &dyn TableStore,
    c: Claimed,
    ended: &str,
    error: &str,
    now: OffsetDateTime,
) -> Result<(), AzureError> {
    let mut e = c.row.entity;
    e.insert("State".into(), ended.into());
    e.insert("Owner".into(), "".into());
    e.insert("Until".into(), format_utc_millis(now).into());
    e.insert("Error".into(), error.into());
    write_unless_changed(tables, WORK_TABLE, &e, c.row.etag).await
}
