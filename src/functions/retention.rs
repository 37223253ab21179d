//! `RetentionSweep` (timer, daily): deletes expired, non-held blobs with evidence, bounded per run,
//! and emits one `retention.deleted` digest.

use crate::events::timer::TimerInfo;
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::retention::sweep::{self, SweepParams, alerts, digest};
use crate::state::AppState;

pub use crate::retention::sweep::FUNCTION as RETENTION_SWEEP;

/// Handles one timer invocation. "Now" is `sys.UtcNow` (reproducible runs), else the clock.
///
/// # Errors
/// `Retryable` when a storage failure stopped the run (the function's `retry` policy re-runs it;
/// every step is idempotent).
pub async fn retention_sweep(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    // The timer payload is informational here (a past-due run sweeps the same way), so a missing or
    // odd one is logged, not fatal.
    let timer: Option<TimerInfo> = inv.request.data_object("timer").ok();
    let now = super::binding::now_of(&state, &inv);
    let params = SweepParams::new(&state.config.retention, now, inv.id.clone());
    tracing::info!(
        past_due = timer.as_ref().is_some_and(|t| t.is_past_due),
        dry_run = params.dry_run,
        "retention sweep starting"
    );
    let (report, error) = sweep::run(&crate::state::sweeper(&state), &params).await;
    if let Some(e) = error {
        tracing::warn!(summary = %report.summary(), "retention sweep stopped by a failure; the retry policy re-runs it");
        return Err(Failure::storage(e));
    }
    // Every retag alert a run remembered (this one's, and a failed run's before it).
    let tables = state.ports.tables.as_ref();
    let retagged = alerts::unsent(tables).await.map_err(Failure::from)?;
    let mut out = Outcome::processed(report.summary()).with_outputs(OUTPUT_BINDING, &retagged);
    alerts::forget(tables, &retagged).await;
    if let Some(d) = digest::prepare(state.ports.tables.as_ref(), &report, now).await {
        out = crate::spine::send(out, [d.finding.clone()]);
        // In the outputs now: the deletions it lists are announced.
        d.forget_listed(state.ports.tables.as_ref()).await;
    }
    Ok(out)
}
