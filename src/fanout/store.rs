//! Table `workunits`, written here only: per timer (the partition) one planning row per period
//! (`plan~<period>`, inserted once, naming the units it planned: [`record_plan`]), its head row
//! ([`HEAD_KEY`]: rewritten by every planning transaction on the ETag its planner read, so of two
//! planners deciding on the same rows one records and the other reads again) and one row per
//! unit (`unit~<key>`) carrying its last period, its state and what its next run needs to know.
//! A unit planned is pending from its period's planning row until its row reaches that period
//! ([`Ledger::is_pending`]), so the planner writes no unit row but a new unit's ([`mark_planned`]);
//! a first delivery claims the unit `running` on the ETag its row had when planned ([`claim`])
//! and writes it when it ends ([`ending`]), both batched by [`super::endings`]. Planning rows
//! older than [`TERM`] leave with the next period's.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::unit::Unit;
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, query_all, upsert_batched, write_creating_table};
use crate::tables::{
    Entity, Filter, MAX_BATCH, Stored, TableStore, WriteMode, get_i64, get_str, int64,
};

/// The table.
pub const WORK_TABLE: &str = "workunits";
/// Row-key prefix of a planning row.
pub const PLAN_PREFIX: &str = "plan~";
/// Row-key prefix of a unit row.
pub const UNIT_PREFIX: &str = "unit~";
/// Row key of a timer's head row (before its planning rows: a query reads it first).
pub const HEAD_KEY: &str = "head";
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
    ) && is_within_term(e, now)
}

/// Is `u` a first delivery of its planned message within its term at `now`? Then no other
/// delivery ran it: the queue hides a message from the others while one works on it.
pub fn is_fresh(u: &Unit, dequeue: u32, now: OffsetDateTime) -> bool {
    dequeue == 1 && timestamp(&u.planned).is_some_and(|at| at + TERM > now)
}

/// The rows of `timer` whose row key is at least `from` (`unit~`: its units) or before `to` (its
/// plans), by one query each.
async fn range(
    tables: &dyn TableStore,
    timer: &str,
    op: Op,
    key: &str,
) -> Result<Vec<Stored>, AzureError> {
    let filter = Filter::And(vec![
        Filter::partition(timer),
        Filter::str("RowKey", op, key),
    ]);
    query_all(tables, WORK_TABLE, &filter, MAX_UNITS).await
}

/// The unit rows of `timer`, by unit.
///
/// # Errors
/// Table errors.
pub async fn units(
    tables: &dyn TableStore,
    timer: &str,
) -> Result<BTreeMap<String, Stored>, AzureError> {
    Ok(range(tables, timer, Op::Ge, UNIT_PREFIX)
        .await?
        .into_iter()
        .filter_map(|r| Some((get_str(&r.entity, "Unit")?.to_owned(), r)))
        .collect())
}

/// What the planner, the health report and the doors' wait read of a timer: its unit rows and
/// its planning rows (few: those older than [`TERM`] leave with each new one), one query each,
/// sent at once.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Unit rows by unit.
    pub units: BTreeMap<String, Stored>,
    /// Planning rows, oldest first.
    pub plans: Vec<Stored>,
    /// The [`marks`] of each of `plans`.
    marked: Vec<BTreeSet<String>>,
    /// The ETag of the timer's head row ([`HEAD_KEY`]) as read with `plans` (`None`: no period
    /// planned yet).
    head: Option<String>,
}

/// `timer`'s [`Ledger`].
///
/// # Errors
/// Table errors.
pub async fn ledger(tables: &dyn TableStore, timer: &str) -> Result<Ledger, AzureError> {
    let (units, (plans, head)) = futures::try_join!(units(tables, timer), plans(tables, timer))?;
    let mut ledger = Ledger {
        units,
        ..Ledger::default()
    };
    ledger.take_plans(plans, head);
    Ok(ledger)
}

/// The planning rows of `timer`, oldest first, and its head row's ETag, by one query (the head
/// row first: a plan recorded after it was read changed it).
async fn plans(
    tables: &dyn TableStore,
    timer: &str,
) -> Result<(Vec<Stored>, Option<String>), AzureError> {
    let rows = range(tables, timer, Op::Lt, UNIT_PREFIX).await?;
    let key = |r: &Stored| get_str(&r.entity, "RowKey").unwrap_or_default().to_owned();
    let head = (rows.iter())
        .find(|r| key(r) == HEAD_KEY)
        .map(|r| r.etag.clone());
    let plans = rows.into_iter().filter(|r| key(r).starts_with(PLAN_PREFIX));
    Ok((plans.collect(), head))
}

/// How a planning row names a unit it planned: 16 hex digits of the 64-bit FNV-1a hash of its
/// name (stable across builds; cheap, as the planner marks every unit of a tick).
pub fn mark(unit: &str) -> String {
    let hash = (unit.bytes()).fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Marks a planning row's property holds (17 characters each: well within a property's 64 KiB).
const MARKS_A_PROPERTY: usize = 1_800;

/// The units `plan` names as planned (their [`mark`]s).
pub fn marks(plan: &Entity) -> BTreeSet<&str> {
    (0..)
        .map_while(|i| get_str(plan, &format!("Units{i}")))
        .flat_map(|p| p.split(' '))
        .filter(|m| !m.is_empty())
        .collect()
}

impl Ledger {
    fn take_plans(&mut self, plans: Vec<Stored>, head: Option<String>) {
        self.marked = (plans.iter())
            .map(|p| marks(&p.entity).into_iter().map(str::to_owned).collect())
            .collect();
        self.plans = plans;
        self.head = head;
    }

    /// Reads the timer's planning rows and head again (one query), keeping the unit rows: what a
    /// planner whose record found the head changed decides on next ([`record_plan`]).
    ///
    /// # Errors
    /// Table errors.
    pub async fn read_plans_again(
        &mut self,
        tables: &dyn TableStore,
        timer: &str,
    ) -> Result<(), AzureError> {
        let (plans, head) = plans(tables, timer).await?;
        self.take_plans(plans, head);
        Ok(())
    }

    /// The planning row of `period`.
    pub fn plan_of(&self, period: &str) -> Option<&Entity> {
        (self.plans.iter())
            .map(|r| &r.entity)
            .find(|e| get_str(e, "Period") == Some(period))
    }

    /// Is `unit` pending at `now` (queued, running, or retried by the queue): its row says so
    /// within its term ([`is_pending`]), or a planning row within its term planned it and its row
    /// has not reached that period (its message not claimed yet).
    pub fn is_pending(&self, unit: &str, now: OffsetDateTime) -> bool {
        let row = self.units.get(unit).map(|r| &r.entity);
        if row.is_some_and(|e| is_pending(e, now)) {
            return true;
        }
        let reached = row.and_then(|e| get_str(e, "Period")).unwrap_or_default();
        self.later_plan(unit, reached, Some(now)).is_some()
    }

    /// Did `unit`'s last planned run end (its row says done or poisoned, and no planning row
    /// names it for a later period)? Then no message of it is out but a copy of one done, and its
    /// next message may claim the row as it is; otherwise the planner writes the row
    /// ([`mark_planned`]), so a stale message finds it superseded.
    pub fn is_settled(&self, unit: &str) -> bool {
        let Some(row) = self.units.get(unit).map(|r| &r.entity) else {
            return false;
        };
        let reached = get_str(row, "Period").unwrap_or_default();
        matches!(get_str(row, "State"), Some(state::DONE | state::POISONED))
            && self.later_plan(unit, reached, None).is_none()
    }

    /// The latest period after `reached` whose planning row names `unit` (within its term at
    /// `now`, when given).
    fn later_plan(&self, unit: &str, reached: &str, now: Option<OffsetDateTime>) -> Option<&str> {
        let m = mark(unit);
        let mut newest_first = self.plans.iter().zip(&self.marked).rev();
        newest_first.find_map(|(p, marks)| {
            let period = get_str(&p.entity, "Period").unwrap_or_default();
            let named = period > reached
                && now.is_none_or(|now| is_within_term(&p.entity, now))
                && marks.contains(&m);
            named.then_some(period)
        })
    }
}

/// Was `row` (a unit's or a plan's) planned less than [`TERM`] before `now`?
pub fn is_within_term(row: &Entity, now: OffsetDateTime) -> bool {
    get_str(row, "PlannedAt")
        .and_then(timestamp)
        .is_some_and(|at| at + TERM > now)
}

/// What [`record_plan`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// This call recorded the period.
    Mine,
    /// The period was planned already (by an overlapping tick or another instance).
    Already,
    /// Another period was recorded since the planner read the rows (the head row changed, or an
    /// old plan left): nothing written; the planner reads the plans again and decides again.
    Stale,
}

/// Inserts the planning row of `timer`'s `period` naming `planned` (their [`mark`]s), with the
/// counts of units planned, still running (not planned) and unchanged (left out), in one
/// transaction that rewrites the timer's head row on the ETag `ledger` read it with: so a plan
/// is recorded only when no other was since the rows it was decided on were read, and two
/// planners racing never both plan a unit. The planning rows of `ledger` older than [`TERM`] at
/// `now` (about a hundred at most) leave in the same transaction.
///
/// # Errors
/// Table errors.
pub async fn record_plan(
    tables: &dyn TableStore,
    (timer, period): (&str, &str),
    planned: &[&str],
    counts: [usize; 3],
    (ledger, now): (&Ledger, OffsetDateTime),
) -> Result<Recorded, AzureError> {
    let me = uuid::Uuid::new_v4().to_string();
    let rk = [PLAN_PREFIX, period].concat();
    let mut e = crate::tables::entity(json!({
        "PartitionKey": timer, "RowKey": rk, "Planner": me, "Period": period,
        "PlannedAt": format_utc_millis(now),
    }));
    let mut head = e.clone();
    head.insert("RowKey".into(), HEAD_KEY.into());
    for (name, n) in ["Planned", "Running", "Unchanged"].into_iter().zip(counts) {
        int64(&mut e, name, i64::try_from(n).unwrap_or(i64::MAX));
    }
    let marks: Vec<String> = planned.iter().map(|u| mark(u)).collect();
    for (i, chunk) in marks.chunks(MARKS_A_PROPERTY).enumerate() {
        e.insert(format!("Units{i}"), chunk.join(" ").into());
    }
    let head_mode = (ledger.head.clone()).map_or(WriteMode::Insert, WriteMode::IfMatch);
    let mut writes = vec![(e, WriteMode::Insert), (head, head_mode)];
    let gone =
        (ledger.plans.iter()).filter(|r| !is_within_term(&r.entity, now) && !r.etag.is_empty());
    for r in gone.take(MAX_BATCH - writes.len()) {
        let key = |k| get_str(&r.entity, k).unwrap_or_default();
        let keys = crate::tables::keyed(key("PartitionKey"), key("RowKey"));
        writes.push((keys, WriteMode::Delete(r.etag.clone())));
    }
    match tables.batch(WORK_TABLE, &writes).await {
        Ok(_) => Ok(Recorded::Mine),
        Err(AzureError::PreconditionFailed) => Ok(Recorded::Stale),
        // No table yet (a first plan), or a row read is gone (an old plan left with another's).
        Err(AzureError::NotFound) => {
            tables.ensure_table(WORK_TABLE).await?;
            Ok(Recorded::Stale)
        }
        // The period planned already, this call's own transaction whose answer was lost, or a
        // first head inserted by another planner: the planning row says which.
        Err(AzureError::Conflict) => {
            let row = get(tables, WORK_TABLE, timer, &rk).await?;
            Ok(
                match row.and_then(|r| get_str(&r.entity, "Planner").map(str::to_owned)) {
                    Some(planner) if planner == me => Recorded::Mine,
                    Some(_) => Recorded::Already,
                    None => Recorded::Stale,
                },
            )
        }
        Err(e) => Err(e),
    }
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
    let mut e = crate::tables::entity(json!({
        "PartitionKey": u.timer, "RowKey": unit_key(&u.unit), "Unit": u.unit, "Period": u.period,
        "At": u.at, "PlannedAt": u.planned, "State": end.state, "Error": end.error,
        "Quiet": end.quiet, "Scope": end.scope,
    }));
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
    (
        carrying(u, state::RUNNING),
        WriteMode::IfMatch(u.etag.clone()),
    )
}

/// Unit `u`'s row in `state`, carrying what its message carried (no error, no scope).
fn carrying(u: &Unit, state: &'static str) -> Entity {
    let end = Ending {
        state,
        error: String::new(),
        quiet: u.quiet,
        failed_periods: u.failed_periods,
        scope: String::new(),
    };
    ending(u, &end)
}

/// Writes the rows of `units` `planned` (those not [`Ledger::is_settled`]: new units, and units
/// whose last planned run did not end), in transactions of a hundred sent at once: their rows'
/// ETags in order.
///
/// # Errors
/// Table errors.
pub async fn mark_planned(
    tables: &dyn TableStore,
    units: &[Unit],
) -> Result<Vec<String>, AzureError> {
    let rows: Vec<Entity> = (units.iter())
        .map(|u| carrying(u, state::PLANNED))
        .collect();
    let batches =
        (rows.chunks(crate::tables::MAX_BATCH)).map(|b| upsert_batched(tables, WORK_TABLE, b));
    Ok(futures::future::try_join_all(batches).await?.concat())
}

/// Writes unit rows (whole: [`ending`]'s) of one timer, in transactions of a hundred.
///
/// # Errors
/// Table errors.
pub async fn write_rows(tables: &dyn TableStore, rows: &[Entity]) -> Result<(), AzureError> {
    upsert_batched(tables, WORK_TABLE, rows).await.map(drop)
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
/// later period planned the unit again (its row, else the timer's planning rows say so), else
/// claimed by another copy of its message.
///
/// # Errors
/// Table errors.
pub async fn refused(tables: &dyn TableStore, u: &Unit) -> Result<Passed, AzureError> {
    if let Some(later @ Passed::Superseded(_)) = passed(tables, u).await? {
        return Ok(later);
    }
    let mut ledger = Ledger::default();
    ledger.read_plans_again(tables, &u.timer).await?;
    let later = ledger.later_plan(&u.unit, &u.period, None);
    Ok(later.map_or(Passed::Claimed, |p| Passed::Superseded(p.to_owned())))
}
