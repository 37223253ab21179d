//! `AuditLogCreated` (Event Grid: a new `PT1H.json`) and `AuditLogTail` (timer: read what was
//! appended, fold sessions, join recordings, detect).

use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::state::AppState;

pub use crate::audit_logs::{
    CREATED_FUNCTION as AUDIT_LOG_CREATED, TAIL_FUNCTION as AUDIT_LOG_TAIL,
};

/// `AuditLogCreated`: registers the hour blob's cursor and reads what is already there.
///
/// # Errors
/// `Poison` for a malformed event, `Retryable` for storage failures.
pub async fn audit_log_created(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    crate::audit_logs::created::handle(state, inv).await
}

/// `AuditLogTail`: one bounded tick over the active cursors.
///
/// # Errors
/// `Retryable` when the cursors cannot be read.
pub async fn audit_log_tail(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    crate::audit_logs::tail::handle(state, inv).await
}
