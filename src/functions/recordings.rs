//! `RecordingCreated`: a BlobCreated event on a recordings container → retention tags, the join
//! with a session its name or metadata names, one catalogue row, `recording.catalogued` and a hash
//! request ([`Recordings::on_created`](crate::recordings::Recordings::on_created)); a BlobDeleted
//! event → the sweep's own deletion stays silent, any other marks the row and raises
//! `recording.deleted` ([`Recordings::on_deleted`](crate::recordings::Recordings::on_deleted)).

use super::binding::decode_event;
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::recordings::Catalogued;
use crate::state::AppState;

pub use crate::recordings::FUNCTION as RECORDING_CREATED;

/// Handles one invocation.
///
/// # Errors
/// `Poison` for unusable events or input the table service refuses, `Retryable` for storage
/// failures.
pub async fn recording_created(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let event = match decode_event(&inv)? {
        Ok(event) => event,
        Err(skipped) => return Ok(skipped),
    };
    let recordings = crate::state::recordings(&state);
    if event.is_deleted() {
        return Ok(recordings.on_deleted(&event).await?.into());
    }
    Ok(recordings.on_created(&event).await?.into())
}

/// A catalogued recording's ending: its findings, and its hash request for `RecordingHash`.
impl From<Catalogued> for Outcome {
    fn from(c: Catalogued) -> Self {
        Self::from(c.handled).with_outputs(crate::integrity::OUTPUT_BINDING, c.hash)
    }
}
