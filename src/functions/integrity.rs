//! `RecordingHash` (queue `hashrequests`: hash one recording into its catalogue row) and
//! `IntegrityVerify` (weekly timer: re-hash a bounded random sample and report findings).

use std::time::Instant;

use crate::catalogue::recording::RecordingKey;
use crate::events::timer::TimerInfo;
use crate::integrity::handler::hash_recording;
use crate::integrity::timer::{BUDGET, lookback_days, run, select};
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::recordings::ingest::HashRequest;
use crate::state::AppState;

pub use crate::integrity::FUNCTION as RECORDING_HASH;
pub use crate::integrity::timer::FUNCTION as INTEGRITY_VERIFY;

/// Decodes the `message` binding.
///
/// # Errors
/// `Poison` for anything but a well-formed request naming a valid recording id.
pub fn decode(inv: &Invocation) -> Result<(HashRequest<'static>, RecordingKey), Failure> {
    let text = inv.request.data_text("message")?;
    let req: HashRequest<'static> =
        serde_json::from_str(&text).map_err(|e| Failure::poison(format!("hash request: {e}")))?;
    let key = RecordingKey::parse(&req.recording_id)
        .ok_or_else(|| Failure::poison("hash request: invalid recordingId"))?;
    Ok((req, key))
}

/// `RecordingHash`: hashes the requested recording unless its digest is current.
///
/// # Errors
/// `Poison` for unusable messages, `Retryable` for storage failures.
pub async fn recording_hash(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let (req, key) = decode(&inv)?;
    Ok(hash_recording(&state.ports, &key, &req.etag).await?.into())
}

/// `IntegrityVerify`; `Retryable` when the catalogue cannot be read.
pub async fn integrity_verify(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let timer: Option<TimerInfo> = inv.request.data_object("timer").ok();
    let now = super::binding::now_of(&state, &inv);
    let size = state.config.integrity_sample;
    let days = lookback_days(&state.policy);
    tracing::info!(
        past_due = timer.as_ref().is_some_and(|t| t.is_past_due),
        size,
        days,
        "integrity verification starting"
    );
    let deps = &state.ports;
    let rows = select(deps, now, days, size, &inv.id).await?;
    Ok(run(deps, rows, now, Instant::now() + BUDGET, &inv.id)
        .await
        .into())
}
