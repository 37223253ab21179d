//! The planning step every fanned-out timer shares: this period's units recorded once
//! ([`crate::fanout::plan`]) and sent to the work queue, which `WorkUnit` (`super::fanout`) reads.

use time::OffsetDateTime;

use crate::fanout;
use crate::invocation::{Failure, Outcome};
use crate::spine::Finding;
use crate::state::AppState;

/// The planning step of a fanned-out timer at `at`: `units` sent to the work queue once per
/// period, `extra` (the tick's own findings) through the one pipeline ([`crate::spine::send`]).
///
/// # Errors
/// `Retryable` when the plan cannot be recorded.
pub(super) async fn planned(
    state: &AppState,
    timer: &str,
    units: &[String],
    at: OffsetDateTime,
    extra: Vec<Finding>,
) -> Result<Outcome, Failure> {
    let ledger = ledger(state, timer).await?;
    let units = (units, 0);
    planning(state, (timer, ledger), units, at, extra, |_| String::new()).await
}

/// The rows `timer`'s planning reads ([`fanout::store::ledger`]), for a timer that reads them
/// beside its own work before [`planned_knowing`].
///
/// # Errors
/// `Retryable` when they cannot be read.
pub(super) async fn ledger(
    state: &AppState,
    timer: &str,
) -> Result<fanout::store::Ledger, Failure> {
    (fanout::store::ledger(state.ports.tables.as_ref(), timer).await).map_err(Failure::storage)
}

/// [`planned`] with no findings of its own, on the timer's rows read already ([`ledger`]):
/// `units` and how many the timer left out because nothing changed for them (counted in the
/// planning record), each unit carrying what the timer knew of it (`known`,
/// [`fanout::Unit::known`]), and `note` (what it left out) in its summary.
///
/// # Errors
/// `Retryable` when the plan cannot be recorded.
pub(super) async fn planned_knowing(
    state: &AppState,
    timer: (&str, fanout::store::Ledger),
    units: (&[String], usize),
    at: OffsetDateTime,
    known: impl Fn(&str) -> String,
    note: &str,
) -> Result<Outcome, Failure> {
    let mut o = planning(state, timer, units, at, Vec::new(), known).await?;
    if let Outcome::Processed { summary, .. } = &mut o {
        *summary = format!("{summary}; {note}");
    }
    Ok(o)
}

async fn planning(
    state: &AppState,
    (timer, ledger): (&str, fanout::store::Ledger),
    (units, unchanged): (&[String], usize),
    at: OffsetDateTime,
    extra: Vec<Finding>,
    known: impl Fn(&str) -> String,
) -> Result<Outcome, Failure> {
    let now = state.ports.clock.now();
    let tables = state.ports.tables.as_ref();
    let started = std::time::Instant::now();
    let mut plan = fanout::plan(tables, (timer, ledger), units, unchanged, at, now)
        .await
        .map_err(Failure::storage)?;
    let recorded_ms = started.elapsed().as_millis();
    tracing::info!(
        timer,
        units = plan.units.len(),
        recorded_ms,
        "the period recorded"
    );
    for u in &mut plan.units {
        u.known = known(&u.unit);
    }
    for u in &plan.running {
        tracing::warn!(timer, unit = %u, "unit still queued or running from another period: not planned again");
    }
    let o =
        Outcome::processed(plan.summary(timer)).with_outputs(fanout::OUTPUT_BINDING, &plan.units);
    Ok(crate::spine::send(o, extra))
}
