//! `RecordingCreated`: a BlobCreated event on a recordings container → a catalogue row, retention
//! tags, `recording.catalogued` and a hash request, then the join with its session.

use super::decode_event;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::state::AppState;

pub use crate::recordings::FUNCTION as RECORDING_CREATED;

/// Handles one invocation.
///
/// # Errors
/// `Poison` for unusable events or input the table service refuses, `Retryable` for storage
/// failures.
pub async fn recording_created(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let event = match decode_event(&inv)? {
        Ok(event) => event,
        Err(skipped) => return Ok(skipped),
    };
    let (outcome, row) = crate::state::recordings(&state).on_created(&event).await?;
    // No row written: a duplicate or older event. The delivery that wrote the row already ran the
    // join (and Reconcile re-joins rows left without `MatchConfidence`), so redeliveries stay cheap.
    // The row (and its outputs) are already written, so a failed join must not fail the
    // invocation: Reconcile and the next session update re-join rows without `MatchConfidence`.
    if let Some(row) = row
        && let Err(e) =
            crate::audit_logs::join::after_write(&crate::state::joiner(&state), row).await
    {
        tracing::error!(error.cause_chain = %crate::telemetry::redact(&e.to_string()), "joining the recording with its session failed; Reconcile retries");
    }
    Ok(outcome)
}
