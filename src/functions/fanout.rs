//! `WorkUnit` (queue `workunits`): one unit a planning timer sent ([`crate::fanout`]), claimed on
//! its row by a first delivery (a second copy of the message runs nothing), run by its timer's
//! unit code and its ending recorded on its row (done, failed, poisoned); a failure is
//! `Retryable`, so the queue delivers it again (`maxDequeueCount`, then the poison queue). A unit
//! poisoned the period before too is not poisoned again: its row counts the periods running and
//! the health report names it once; the next period plans it again. A unit whose Resource
//! Manager scope a 429 paused (on any instance) past its run's budget is deferred, not run
//! (`deferred`), as is `EstateCheck`'s unit spanning hosts while host units of its period have
//! not ended (it takes their Bastion subnets from them). The timers' planning step is
//! `super::plan`.

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::fanout::store::{self, Ending, Passed, state};
use crate::fanout::{self, Unit};
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::state::AppState;

pub use crate::fanout::FUNCTION as WORK_UNIT;

/// One unit's run: its outcome (its findings' notifications as outputs), and whether it left
/// nothing its next run must read back ([`Unit::quiet`]).
type Ran = (Outcome, bool);

/// `WorkUnit`: runs one unit once.
///
/// # Errors
/// `Poison` for an undecodable message or an unknown timer; `Retryable` when the unit failed or
/// its ending could not be recorded.
pub async fn work_unit(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let unit: Unit = inv.request.data_object("message")?;
    let at = timestamp(&unit.at).ok_or_else(|| Failure::poison("unit without a time"))?;
    let dequeue: u32 = inv
        .request
        .metadata_text("DequeueCount")
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or(1);
    let tables = state.ports.tables.as_ref();
    // A first delivery within its term is the planned message itself: the queue hides it from the
    // other instances while it runs. One delivered again, or late, may have run already.
    let fresh = store::is_fresh(&unit, dequeue, state.ports.clock.now());
    if !fresh
        && let Some(passed) = store::passed(tables, &unit)
            .await
            .map_err(Failure::storage)?
    {
        return Ok(Outcome::skipped(passed_reason(&passed, &unit)));
    }
    if let Some(deferred) = deferred(&state, &unit, dequeue).await {
        return deferred;
    }
    if let Some(waiting) = waiting(&state, &unit, dequeue).await {
        return waiting;
    }
    if fresh && !unit.etag.is_empty() {
        match state.endings.claim(tables, store::claim(&unit)).await {
            Ok(()) => {}
            Err(AzureError::PreconditionFailed) => {
                let why = match store::refused(tables, &unit).await {
                    Ok(passed) => passed_reason(&passed, &unit),
                    Err(e) => told(&unit, format!("its row changed (not read: {e})")),
                };
                return Ok(Outcome::skipped(why));
            }
            Err(e) => return Err(Failure::storage(e)),
        }
    }
    let ran = run(&state, &unit, at, fresh && unit.quiet).await;
    let last = dequeue >= state.config.notify.max_dequeue;
    let end = match &ran {
        Ok((_, quiet)) => ending(state::DONE, String::new(), *quiet, 0),
        Err(e) if last => ending(
            state::POISONED,
            e.to_string(),
            false,
            unit.failed_periods + 1,
        ),
        Err(e) => ending(state::FAILED, e.to_string(), false, unit.failed_periods),
    };
    let recorded = (state.endings)
        .write(tables, store::ending(&unit, &end))
        .await;
    let (outcome, _) = match (ran, recorded) {
        (Err(e), Ok(())) if last && unit.failed_periods > 0 => {
            // Poisoned again: its row says how many periods running; the poison queue has its
            // first period's message, and the next period plans it again.
            return Ok(Outcome::processed(format!(
                "{} {}: failed its last delivery, {} periods running (recorded, not poisoned again): {e}",
                unit.timer, unit.unit, end.failed_periods
            )));
        }
        (ran, Err(e)) if ran.is_ok() => {
            return Err(Failure::storage(anyhow::anyhow!(
                "{} {}: done, but its ending was not recorded: {e}",
                unit.timer,
                unit.unit
            )));
        }
        (ran, _) => ran?,
    };
    Ok(match outcome {
        Outcome::Processed { outputs, summary } => Outcome::Processed {
            outputs,
            summary: format!("{} {}: {summary}", unit.timer, unit.unit),
        },
        skipped => skipped,
    })
}

fn ending(state: &'static str, error: String, quiet: bool, failed_periods: u32) -> Ending {
    Ending {
        state,
        error,
        quiet,
        failed_periods,
        scope: String::new(),
    }
}

/// How long a timer's unit may wait for Resource Manager, for the units that call it about the
/// unit itself (a host): a shorter pause of the unit's scope is waited out by its calls.
fn arm_budget(u: &Unit) -> Option<std::time::Duration> {
    match u.timer.as_str() {
        super::estate::LIVE_SESSIONS => Some(crate::estate::live::BUDGET),
        super::estate::ESTATE_CHECK if u.unit != super::estate::ACROSS_HOSTS => {
            Some(crate::estate::check::BUDGET)
        }
        _ => None,
    }
}

/// The answer deferring `u`, when its Resource Manager scope is paused (a 429 on this or another
/// instance) past its run's budget: its row says `deferred` and by which scope; the answer is
/// retryable, so the queue delivers it again after its visibility timeout; on its last delivery
/// it is sent again as a new message instead, so a pause never poisons it.
async fn deferred(state: &AppState, u: &Unit, dequeue: u32) -> Option<Result<Outcome, Failure>> {
    let budget = arm_budget(u)?;
    let left = state.arm.as_ref()?.paused(&u.unit).await?;
    if left < budget {
        return None;
    }
    let scope = crate::azure::pace::scope_of(&u.unit);
    let paused = left.as_secs();
    let why = format!("Resource Manager paused {paused} s more for {scope}: deferred");
    let why = told(u, why);
    defer(state, u, scope, &why).await;
    if dequeue < state.config.notify.max_dequeue {
        return Some(Err(Failure::storage(anyhow::anyhow!(why))));
    }
    let again = std::slice::from_ref(u);
    Some(Ok(
        Outcome::processed(why).with_outputs(fanout::OUTPUT_BINDING, again)
    ))
}

/// The answer deferring `EstateCheck`'s unit spanning hosts while host units of its period have
/// not ended ([`super::estate::hosts_pending`]): it would read those hosts' Bastion subnets
/// again, which their own units keep for it. Retryable, so the queue delivers it again after its
/// visibility timeout; its last delivery runs whatever is pending (reading those hosts then).
async fn waiting(state: &AppState, u: &Unit, dequeue: u32) -> Option<Result<Outcome, Failure>> {
    let spans_hosts =
        u.timer == super::estate::ESTATE_CHECK && u.unit == super::estate::ACROSS_HOSTS;
    if !spans_hosts || dequeue >= state.config.notify.max_dequeue {
        return None;
    }
    let pending = super::estate::hosts_pending(state, &u.period).await;
    let n = pending
        .inspect_err(|e| tracing::warn!(error = %e, "host units not read; the doors run now"))
        .ok()
        .filter(|n| *n > 0)?;
    let why = format!("{n} host unit(s) of its period not ended: deferred");
    let why = told(u, why);
    defer(state, u, HOST_UNITS.into(), &why).await;
    Some(Err(Failure::storage(anyhow::anyhow!(why))))
}

/// What a deferral by [`waiting`] names as its scope.
const HOST_UNITS: &str = "the period's host units";

/// Records `u` deferred by `scope`, for `why`.
async fn defer(state: &AppState, u: &Unit, scope: String, why: &str) {
    let end = Ending {
        scope,
        ..ending(state::DEFERRED, why.to_owned(), u.quiet, u.failed_periods)
    };
    let tables = state.ports.tables.as_ref();
    if let Err(e) = state.endings.write(tables, store::ending(u, &end)).await {
        tracing::warn!(error = %e, unit = %u.unit, "deferral not recorded");
    }
}

fn passed_reason(passed: &Passed, u: &Unit) -> String {
    let why = match passed {
        Passed::Done => "done already this period".to_owned(),
        Passed::Superseded(period) => format!("superseded by period {period}"),
        Passed::Claimed => "another copy of its message claimed it".to_owned(),
    };
    told(u, why)
}

/// `why`, naming unit `u` of its timer and period.
fn told(u: &Unit, why: String) -> String {
    format!("{} {} ({}): {why}", u.timer, u.unit, u.period)
}

/// One unit's work; `quiet`: its last run left nothing to read back (a first delivery).
async fn run(state: &AppState, u: &Unit, at: OffsetDateTime, quiet: bool) -> Result<Ran, Failure> {
    let loud = |r: Result<Outcome, Failure>| r.map(|o| (o, false));
    match u.timer.as_str() {
        super::estate::LIVE_SESSIONS => super::estate::live_unit(state, &u.unit, at, quiet).await,
        super::estate::ESTATE_CHECK => loud(super::estate::estate_unit(state, &u.unit, at).await),
        super::audit_logs::AUDIT_LOG_TAIL => {
            loud(super::audit_logs::tail_unit(state, &u.unit, &u.known, at).await)
        }
        super::reconcile::RECONCILE => loud(super::reconcile::unit(state, &u.unit, at).await),
        super::audit_logs::AUDIT_LOG_QUERY => {
            loud(super::audit_logs::query_unit(state, &u.unit, at).await)
        }
        other => Err(Failure::poison(format!("no timer {other} plans units"))),
    }
}
