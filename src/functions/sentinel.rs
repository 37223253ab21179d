//! `SentinelExport` (timer, every minute at :30): drains the Sentinel outbox through the Logs
//! Ingestion API ([`crate::sentinel::drain`]) within [`BUDGET`].
//!
//! Endings: Skipped when the Sentinel settings are unset or nothing waits; Processed when the
//! rows were sent, or the service asked to wait past the run (the next tick resumes); Retryable
//! (500) when the service refused (403: Monitoring Metrics Publisher missing on the rule; 400) or
//! kept failing, or the outbox could not be read: nothing was lost, the rows stay for the next
//! tick, and `/api/health` shows the backlog and the error.

use std::time::{Duration, Instant};

use crate::invocation::{Failure, Stage};
use crate::invocation::{Invocation, Outcome};
use crate::sentinel::drain::{self, RunError};
use crate::state::AppState;

pub use crate::sentinel::FUNCTION as SENTINEL_EXPORT;

/// How long one run sends: inside the minute of its timer.
pub const BUDGET: Duration = Duration::from_secs(45);

/// Handles one tick.
///
/// # Errors
/// `Retryable` as above.
pub async fn sentinel_export(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let Some(client) = state.ingestion.clone() else {
        return Ok(Outcome::skipped(
            "Sentinel export is off (SENTINEL_INGESTION_ENDPOINT and SENTINEL_DCR_IMMUTABLE_ID unset)",
        ));
    };
    let until = Instant::now() + BUDGET;
    let report = drain::run(&state.ports, client.as_ref(), &inv.id, until).await;
    let sent: Vec<String> = report
        .sent
        .iter()
        .map(|(t, n)| format!("{} {n}", t.key()))
        .collect();
    let summary = format!(
        "sentinel export: {} rows in {} calls ({}); {} left; leased elsewhere: {}; sent buckets deleted: {}; recorded again in a later bucket (sent from there): {}",
        report.total(),
        report.calls,
        sent.join(", "),
        report.left,
        report.leased_elsewhere.len(),
        report.dropped,
        report.superseded
    );
    match report.error {
        None if report.calls == 0 && report.dropped == 0 && report.leased_elsewhere.is_empty() => {
            Ok(Outcome::skipped("sentinel export: nothing waits"))
        }
        None => Ok(Outcome::processed(summary)),
        Some(RunError::Throttled(why)) => Ok(Outcome::processed(format!(
            "{summary}; throttled, the next tick resumes: {why}"
        ))),
        Some(RunError::Failed(why)) => Err(Failure::retryable(
            Stage::Sending,
            anyhow::anyhow!("{summary}; stopped: {why}"),
        )),
    }
}
