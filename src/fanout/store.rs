//! Table `workunits`, written here only: per timer (the partition) one planning row per period
//! (`plan~<period>`, inserted once) and one row per unit (`unit~<key>`) carrying its last period,
//! its state and what its next run needs to know. The planner writes a unit's row `planned`
//! (batched, [`mark_planned`]); a first delivery claims it `running` on the planned row's ETag
//! ([`claim`]) and writes it when it ends ([`ending`]), both batched by [`super::endings`].

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::Unit;
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{
    get, query_all, update, upsert_batched, upsert_tagged, write_creating_table,
};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_i64, get_str, int64};

/// The table.
pub const WORK_TABLE: &str = "workunits";
/// Row-key prefix of a planning row.
pub const PLAN_PREFIX: &str = "plan~";
/// Row-key prefix of a unit row.
pub const UNIT_PREFIX: &str = "unit~";
/// Most unit rows read per timer.
pub const MAX_UNITS: usize = 20_000;
/// How long after it was planned a unit not ended is taken as queued or running, so not planned again:
/// longer than a unit's deliveries take (5 of them 30 s apart, each within its budget); a unit
/// whose messages were lost (a plan whose queue output failed) is planned again after it.
pub const TERM: Duration = Duration::minutes(10);

/// A unit's state on its row.
pub mod state {
    /// Planned: its message is queued (or taken by a delivery not started yet).
    pub const PLANNED: &str = "planned";
    /// A first delivery claimed it and runs it.
    pub const RUNNING: &str = "running";
    /// Done for its period.
    pub const DONE: &str = "done";
    /// Failed; the queue delivers it again.
    pub const FAILED: &str = "failed";
    /// Failed on its last delivery.
    pub const POISONED: &str = "poisoned";
    /// Not run: its Resource Manager scope is paused past its budget; delivered again later.
    pub const DEFERRED: &str = "deferred";
}

/// The row key of unit `unit`.
pub fn unit_key(unit: &str) -> String {
    [
        UNIT_PREFIX,
        &key(unit, Spelling::Encoded, MAX_KEY_BYTES - 8),
    ]
    .concat()
}

/// Is the row a unit planned and not ended at `now` (queued, running, or retried by the queue)?
pub fn is_pending(e: &Entity, now: OffsetDateTime) -> bool {
    matches!(
        get_str(e, "State"),
        Some(state::PLANNED | state::RUNNING | state::FAILED | state::DEFERRED)
    ) && get_str(e, "PlannedAt")
        .and_then(timestamp)
        .is_some_and(|at| at + TERM > now)
}

/// Is `u` a first delivery of its planned message within its term at `now`? Then no other
/// delivery ran it: the queue hides a message from the others while one works on it.
pub fn is_fresh(u: &Unit, dequeue: u32, now: OffsetDateTime) -> bool {
    dequeue == 1 && timestamp(&u.planned).is_some_and(|at| at + TERM > now)
}

/// The rows of `timer` (its plans and units).
///
/// # Errors
/// Table errors.
pub async fn rows(tables: &dyn TableStore, timer: &str) -> Result<Vec<Stored>, AzureError> {
    query_all(tables, WORK_TABLE, &Filter::partition(timer), MAX_UNITS).await
}

/// The unit rows of `timer`, by unit.
///
/// # Errors
/// Table errors.
pub async fn units(
    tables: &dyn TableStore,
    timer: &str,
) -> Result<BTreeMap<String, Entity>, AzureError> {
    Ok(rows(tables, timer)
        .await?
        .into_iter()
        .filter_map(|r| Some((get_str(&r.entity, "Unit")?.to_owned(), r.entity)))
        .collect())
}

/// Inserts the planning row of `timer`'s `period` with its units planned, still running (not
/// planned) and unchanged (left out): true when this call wrote it.
///
/// # Errors
/// Table errors.
pub async fn record_plan(
    tables: &dyn TableStore,
    timer: &str,
    period: &str,
    counts: [usize; 3],
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
        for (name, n) in ["Planned", "Running", "Unchanged"].into_iter().zip(counts) {
            int64(&mut e, name, i64::try_from(n).unwrap_or(i64::MAX));
        }
        Some(e)
    })
    .await?;
    Ok(row.is_some_and(|r| get_str(&r.entity, "Planner") == Some(me.as_str())))
}

/// How a unit's delivery ended, as its row keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// [`state`]'s name.
    pub state: &'static str,
    /// Why it failed or was deferred.
    pub error: String,
    /// Its run left nothing its next run must read back (the unit's own rule).
    pub quiet: bool,
    /// Consecutive periods it ended poisoned, this one included.
    pub failed_periods: u32,
    /// The Resource Manager scope whose pause deferred it.
    pub scope: String,
}

/// Unit `u`'s row as `end` leaves it (every field: the row is replaced whole).
pub fn ending(u: &Unit, end: &Ending) -> Entity {
    let mut e = Entity::new();
    e.insert("PartitionKey".into(), u.timer.clone().into());
    e.insert("RowKey".into(), unit_key(&u.unit).into());
    e.insert("Unit".into(), u.unit.clone().into());
    e.insert("Period".into(), u.period.clone().into());
    e.insert("At".into(), u.at.clone().into());
    e.insert("PlannedAt".into(), u.planned.clone().into());
    e.insert("State".into(), end.state.into());
    e.insert("Error".into(), end.error.clone().into());
    e.insert("Quiet".into(), end.quiet.into());
    e.insert("Scope".into(), end.scope.clone().into());
    int64(&mut e, "FailedPeriods", i64::from(end.failed_periods));
    e
}

/// What the planner carries from a unit's row into its message: whether its last run was quiet
/// and how many periods running it was poisoned.
pub fn carried(e: &Entity) -> (bool, u32) {
    let quiet = get_str(e, "State") == Some(state::DONE)
        && e.get("Quiet").and_then(serde_json::Value::as_bool) == Some(true);
    let failed = get_i64(e, "FailedPeriods").unwrap_or(0);
    (quiet, u32::try_from(failed).unwrap_or(0))
}

/// Unit `u`'s row claimed `running` by a first delivery: written only if the row is still as the
/// planner left it (its ETag in the message), so of two copies of one message one runs.
pub fn claim(u: &Unit) -> (Entity, WriteMode) {
    let end = Ending {
        state: state::RUNNING,
        error: String::new(),
        quiet: u.quiet,
        failed_periods: u.failed_periods,
        scope: String::new(),
    };
    (ending(u, &end), WriteMode::IfMatch(u.etag.clone()))
}

/// Marks `units` planned, in transactions of a hundred sent at once (the planner returns in well
/// under a second at a thousand units): their rows' ETags in order.
///
/// # Errors
/// Table errors.
pub async fn mark_planned(
    tables: &dyn TableStore,
    units: &[Unit],
) -> Result<Vec<String>, AzureError> {
    let rows: Vec<Entity> = (units.iter())
        .map(|u| {
            let end = Ending {
                state: state::PLANNED,
                error: String::new(),
                quiet: u.quiet,
                failed_periods: u.failed_periods,
                scope: String::new(),
            };
            ending(u, &end)
        })
        .collect();
    let batches =
        (rows.chunks(crate::tables::MAX_BATCH)).map(|b| upsert_tagged(tables, WORK_TABLE, b));
    Ok(futures::future::try_join_all(batches).await?.concat())
}

/// Writes unit rows (whole: [`ending`]'s) of one timer, in transactions of a hundred.
///
/// # Errors
/// Table errors.
pub async fn write_rows(tables: &dyn TableStore, rows: &[Entity]) -> Result<(), AzureError> {
    upsert_batched(tables, WORK_TABLE, rows).await
}

/// Writes rows of one timer, some of them conditional ([`claim`]s), in one transaction; when it
/// is refused (a claim's row changed), each row alone: each row's own result, in order.
pub async fn write_some(
    tables: &dyn TableStore,
    writes: &[(Entity, WriteMode)],
) -> Vec<Result<(), AzureError>> {
    if tables.batch(WORK_TABLE, writes).await.is_ok() {
        return writes.iter().map(|_| Ok(())).collect();
    }
    let mut out = Vec::with_capacity(writes.len());
    for (row, mode) in writes {
        let written = match mode {
            WriteMode::IfMatch(_) => tables.write(WORK_TABLE, row, mode.clone()).await,
            _ => write_creating_table(tables, WORK_TABLE, row, mode.clone()).await,
        };
        out.push(written.map(drop));
    }
    out
}

/// Why a delivered unit is not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passed {
    /// Done already for its period (a message delivered again after its unit was done).
    Done,
    /// The unit was planned again for this later period (its row's): this one is superseded.
    Superseded(String),
    /// Another copy of its message (put twice) claimed the unit first.
    Claimed,
}

/// Whether `u`, delivered again (or late), is not to run: its row read.
///
/// # Errors
/// Table errors.
pub async fn passed(tables: &dyn TableStore, u: &Unit) -> Result<Option<Passed>, AzureError> {
    let row = get(tables, WORK_TABLE, &u.timer, &unit_key(&u.unit)).await?;
    let Some(e) = row.map(|r| r.entity) else {
        return Ok(None);
    };
    let period = get_str(&e, "Period").unwrap_or_default();
    Ok(if period > u.period.as_str() {
        Some(Passed::Superseded(period.to_owned()))
    } else if period == u.period && get_str(&e, "State") == Some(state::DONE) {
        Some(Passed::Done)
    } else {
        None
    })
}

/// Why `u`'s claim was refused (its row no longer as planned): its row read, superseded when a
/// later period planned the unit again (racing ticks), else claimed by another copy of its
/// message.
///
/// # Errors
/// Table errors.
pub async fn refused(tables: &dyn TableStore, u: &Unit) -> Result<Passed, AzureError> {
    Ok(match passed(tables, u).await? {
        Some(later @ Passed::Superseded(_)) => later,
        _ => Passed::Claimed,
    })
}
