//! `AuditLogCreated` (Event Grid: a new `PT1H.json`) and `AuditLogTail` (timer: read what was
//! appended, fold sessions, join recordings, detect).

use super::decode_event;
use crate::audit_logs::{created, tail};
use crate::events::timer::TimerInfo;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::state::AppState;

pub use crate::audit_logs::{
    CREATED_FUNCTION as AUDIT_LOG_CREATED, TAIL_FUNCTION as AUDIT_LOG_TAIL,
};

/// "Now" of a timer or event invocation: the host's `sys.UtcNow`, else the clock.
pub fn now_of(state: &AppState, inv: &Invocation) -> time::OffsetDateTime {
    inv.request
        .sys()
        .now()
        .unwrap_or_else(|| state.ports.clock.now())
}

/// `AuditLogCreated`: registers the hour blob's cursor and reads what is already there.
///
/// # Errors
/// `Poison` for a malformed event, `Retryable` for storage failures.
pub async fn audit_log_created(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let event = match decode_event(&inv)? {
        Ok(event) => event,
        Err(skipped) => return Ok(skipped),
    };
    created::on_created(&super::tail(&state), &event, now_of(&state, &inv)).await
}

/// `AuditLogTail`: one bounded tick over the active cursors.
///
/// # Errors
/// `Retryable` when the cursors cannot be read, or every attempted blob failed.
pub async fn audit_log_tail(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    // The timer payload carries nothing the tail needs; a malformed one must not stop tailing.
    let _timer: Option<TimerInfo> = inv.request.data_object("timer").ok();
    let report = tail::tick(&super::tail(&state), now_of(&state, &inv)).await?;
    // Outputs are dropped on a 500: a tick holding digests it won (markers written) must deliver
    // them; its failed blobs are retried next tick from their saved offsets either way.
    if report.failed > 0 && report.failed == report.blobs && report.notifications.is_empty() {
        return Err(HandlerError::storage(anyhow::anyhow!(
            "all {} audit blobs failed this tick",
            report.failed
        )));
    }
    Ok(tail::outcome(report))
}
