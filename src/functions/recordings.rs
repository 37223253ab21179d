//! `RecordingCreated`: a BlobCreated event on a recordings container → retention tags, the join
//! with a session its name or metadata names, one catalogue row, `recording.catalogued` and a hash
//! request ([`Recordings::on_created`](crate::recordings::Recordings::on_created)).

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
    let (outcome, _) = crate::state::recordings(&state).on_created(&event).await?;
    Ok(outcome)
}
