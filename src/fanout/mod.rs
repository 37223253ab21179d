//! Fan-out of the per-host timers through a queue: a timer only *plans* (one [`Unit`] message per
//! host, workspace or source for its period, on queue [`OUTPUT_BINDING`]), and the queue-triggered
//! `WorkUnit` function does one unit. A timer trigger runs on one instance at a time (its lock),
//! while Functions scales a queue's consumers across instances, so the work of a tick spreads over
//! as many instances as the app may have.
//!
//! No unit is done twice in a period and none is lost: the planning record of a (timer, period)
//! is inserted once, naming the units it planned, so an overlapping tick or a second instance
//! plans nothing ([`plan`]), and only if no other period was recorded since its planner read the
//! rows (the timer's head row, rewritten on its ETag by every record), so of racing ticks of
//! adjacent periods one plans a unit and the others, deciding again, find it pending; a unit
//! still queued or running from another period is not planned again (a planning record within
//! [`store::TERM`] names it and its row has not reached that period, or its row says it runs or
//! is retried: [`store::Ledger::is_pending`]); while a
//! delivery works on a unit its message is invisible to the other instances (the queue's own
//! claim). A first delivery claims its unit's row on the ETag the planner read it with (or wrote,
//! for a unit with no row yet) and carried in the message (`running`, the claims of an
//! instance's units starting together in one transaction: [`endings`]), so a second copy of the
//! message (an output binding's put tried again after its answer was lost) finds the row changed
//! and runs nothing; a message
//! delivered again (or late) first reads its unit's row, so a unit done for its period, or
//! superseded, is not run again ([`store::passed`]). A unit's row is written when it ends ([`endings`]: one transaction for
//! the endings of an instance's batch). A failed unit is retried by the queue
//! (`maxDequeueCount`, then `workunits-poison`); a unit failing its last dequeue is marked
//! poisoned, with its name and its consecutive poisoned periods, for the health report
//! ([`stats`]).

pub mod endings;
pub mod pauses;
pub mod stats;
pub mod store;
pub mod unit;

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::tables::TableStore;

pub use unit::Unit;
use unit::period_of;

/// The queue-triggered function that does one unit.
pub const FUNCTION: &str = "WorkUnit";
/// The output binding the planning timers write their units to.
pub const OUTPUT_BINDING: &str = "workunits";

/// What a tick planned.
#[derive(Debug, Default)]
pub struct Plan {
    /// The units to send (none when another tick planned this period).
    pub units: Vec<Unit>,
    /// Units not planned: still queued or running from another period.
    pub running: Vec<String>,
    /// True when this period was planned already (by an overlapping tick or another instance).
    pub duplicate: bool,
}

impl Plan {
    /// One line for the invocation log.
    pub fn summary(&self, timer: &str) -> String {
        if self.duplicate {
            return format!("{timer}: this period was planned already; nothing sent");
        }
        let (planned, running) = (self.units.len(), self.running.len());
        format!(
            "{timer}: {planned} unit(s) planned, {running} still queued or running from another period"
        )
    }
}

/// How many times a planner decides again when other periods were recorded meanwhile
/// ([`store::Recorded::Stale`]): each time one of the racing planners recorded its own.
const DECISIONS: usize = 8;

/// Plans `units` of `timer` for the tick at `at`, once per period across ticks and instances;
/// `now` (the clock) dates the planning record and decides which units still run; `unchanged`:
/// the units the timer left out because nothing changed for them (the record counts them).
/// `ledger`: the timer's rows ([`store::ledger`], read beside the timer's own work when it has
/// any). One transaction records the period with the units it planned, only if no other period
/// was recorded since `ledger` was read; else the planning rows are read again and the units
/// decided again, so of racing ticks (adjacent periods) one plans a unit and the others find it
/// pending. A unit's row is written only when its last planned run has not ended
/// ([`store::Ledger::is_settled`]: a new unit, one whose message was lost), else its message
/// claims the row as read.
///
/// # Errors
/// Table errors; `Transient` when other periods kept being recorded first.
pub async fn plan(
    tables: &dyn TableStore,
    (timer, mut ledger): (&str, store::Ledger),
    units: &[String],
    unchanged: usize,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Plan, AzureError> {
    let period = format_utc_millis(period_of(at));
    for _ in 0..DECISIONS {
        let (busy, free): (Vec<&String>, Vec<&String>) =
            (units.iter()).partition(|u| ledger.is_pending(u, now));
        let counts = [free.len(), busy.len(), unchanged];
        let named: Vec<&str> = free.iter().map(|u| u.as_str()).collect();
        let record = (timer, period.as_str());
        match store::record_plan(tables, record, &named, counts, (&ledger, now)).await? {
            store::Recorded::Mine => {
                let running = busy.into_iter().cloned().collect();
                return sent(tables, (timer, &ledger), &free, at, now, running).await;
            }
            store::Recorded::Already => {
                return Ok(Plan {
                    duplicate: true,
                    ..Plan::default()
                });
            }
            store::Recorded::Stale => ledger.read_plans_again(tables, timer).await?,
        }
    }
    Err(AzureError::Transient(format!(
        "{timer} {period}: other periods kept being recorded first"
    )))
}

/// The messages of the units `free` that a recorded plan names, the rows of those with no
/// settled row written `planned`.
async fn sent(
    tables: &dyn TableStore,
    (timer, ledger): (&str, &store::Ledger),
    free: &[&String],
    at: OffsetDateTime,
    now: OffsetDateTime,
    running: Vec<String>,
) -> Result<Plan, AzureError> {
    let mut units: Vec<Unit> = (free.iter())
        .map(|u| {
            let mut unit = Unit::new(timer, u, at);
            unit.planned = format_utc_millis(now);
            if let Some(r) = ledger.units.get(*u) {
                (unit.quiet, unit.failed_periods) = store::carried(&r.entity);
                if ledger.is_settled(u) {
                    unit.etag.clone_from(&r.etag);
                }
            }
            unit
        })
        .collect();
    let new: Vec<&mut Unit> = units.iter_mut().filter(|u| u.etag.is_empty()).collect();
    let rows: Vec<Unit> = new.iter().map(|u| (**u).clone()).collect();
    let etags = store::mark_planned(tables, &rows).await?;
    for (unit, etag) in new.into_iter().zip(etags) {
        unit.etag = etag;
    }
    Ok(Plan {
        units,
        running,
        duplicate: false,
    })
}

#[cfg(test)]
mod tests;
