//! `WorkUnit` (queue `workunits`): one unit a planning timer sent ([`crate::fanout`]), claimed on
//! its row, run by its timer's unit code, and marked done or failed; a failure is `Retryable`, so
//! the queue delivers it again (`maxDequeueCount`, then the poison queue). A unit whose Resource
//! Manager scope a 429 paused (on any instance) past its run's budget is deferred, not run
//! (`deferred`). The timers' planning step is `super::plan`.

use time::OffsetDateTime;

use crate::dates::timestamp;
use crate::fanout::store::{self, Passed, state};
use crate::fanout::{self, Unit};
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::state::AppState;

pub use crate::fanout::FUNCTION as WORK_UNIT;

/// How long a claimed unit is taken as running: longer than any unit's own budget, so a live
/// claim is never taken over; a claim whose instance died is taken over by the message's
/// redelivery at once, and by the next period's delivery after this term.
const TERM: time::Duration = time::Duration::minutes(10);

/// `WorkUnit`: runs one unit once.
///
/// # Errors
/// `Poison` for an undecodable message or an unknown timer; `Retryable` when the unit failed.
pub async fn work_unit(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let unit: Unit = inv.request.data_object("message")?;
    let at = timestamp(&unit.at).ok_or_else(|| Failure::poison("unit without a time"))?;
    let dequeue: u32 = inv
        .request
        .metadata_text("DequeueCount")
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or(1);
    if let Some(deferred) = deferred(&state, &unit, dequeue).await {
        return deferred;
    }
    let tables = state.ports.tables.as_ref();
    let now = state.ports.clock.now();
    let claimed = match store::claim(tables, &unit, dequeue, now, TERM)
        .await
        .map_err(Failure::storage)?
    {
        Ok(c) => c,
        Err(passed) => return Ok(Outcome::skipped(passed_reason(passed, &unit))),
    };
    let ran = run(&state, &unit, at).await;
    let (ended, error) = match &ran {
        Ok(_) => (state::DONE, String::new()),
        Err(e) if dequeue >= state.config.notify.max_dequeue => (state::POISONED, e.to_string()),
        Err(e) => (state::FAILED, e.to_string()),
    };
    let finished = store::finish(tables, claimed, ended, &error, state.ports.clock.now()).await;
    if let Err(e) = finished {
        tracing::warn!(error = %e, unit = %unit.unit, "unit's ending not recorded");
    }
    Ok(match ran? {
        Outcome::Processed { outputs, summary } => Outcome::Processed {
            outputs,
            summary: format!("{} {}: {summary}", unit.timer, unit.unit),
        },
        skipped => skipped,
    })
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
/// instance) past its run's budget: retryable, so the queue delivers it again after its visibility
/// timeout, without claiming it; on its last delivery it is sent again as a new message instead,
/// so a pause never poisons it.
async fn deferred(state: &AppState, u: &Unit, dequeue: u32) -> Option<Result<Outcome, Failure>> {
    let budget = arm_budget(u)?;
    let left = state.arm.as_ref()?.paused(&u.unit).await?;
    if left < budget {
        return None;
    }
    let why = format!(
        "{} {} ({}): Resource Manager paused {} s more for this scope: deferred",
        u.timer,
        u.unit,
        u.period,
        left.as_secs()
    );
    if dequeue < state.config.notify.max_dequeue {
        return Some(Err(Failure::storage(anyhow::anyhow!(why))));
    }
    let again = std::slice::from_ref(u);
    Some(Ok(
        Outcome::processed(why).with_outputs(fanout::OUTPUT_BINDING, again)
    ))
}

fn passed_reason(passed: Passed, u: &Unit) -> String {
    let why = match passed {
        Passed::Done => "done already this period",
        Passed::Superseded => "a later period's unit ran",
        Passed::RunningElsewhere => "running on another instance",
    };
    format!("{} {} ({}): {why}", u.timer, u.unit, u.period)
}

/// One unit's work: its summary and outputs (its findings' notifications).
async fn run(state: &AppState, u: &Unit, at: OffsetDateTime) -> Result<Outcome, Failure> {
    match u.timer.as_str() {
        super::estate::LIVE_SESSIONS => super::estate::live_unit(state, &u.unit, at).await,
        super::estate::ESTATE_CHECK => super::estate::estate_unit(state, &u.unit, at).await,
        super::audit_logs::AUDIT_LOG_TAIL => super::audit_logs::tail_unit(state, &u.unit, at).await,
        super::reconcile::RECONCILE => super::reconcile::unit(state, &u.unit, at).await,
        super::audit_logs::AUDIT_LOG_QUERY => {
            super::audit_logs::query_unit(state, &u.unit, at).await
        }
        other => Err(Failure::poison(format!("no timer {other} plans units"))),
    }
}
