//! `AuditLogCreated` (Event Grid: a new `PT1H.json`), `AuditLogTail` (timer: what was appended) and
//! `AuditLogQuery` (timer: the same from Log Analytics workspaces).

use std::sync::Arc;

use super::decode_event;
use crate::audit_logs::query::{self, Query};
use crate::audit_logs::{created, tail};
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::state::AppState;

pub use crate::audit_logs::query::FUNCTION as AUDIT_LOG_QUERY;
pub use crate::audit_logs::{
    CREATED_FUNCTION as AUDIT_LOG_CREATED, TAIL_FUNCTION as AUDIT_LOG_TAIL,
};

/// `AuditLogCreated`: registers the hour blob's cursor and reads what is already there.
///
/// # Errors
/// `Poison` for a malformed event, `Retryable` for storage failures.
pub async fn audit_log_created(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let event = match decode_event(&inv)? {
        Ok(event) => event,
        Err(skipped) => return Ok(skipped),
    };
    let tailer = crate::state::tailer(&state);
    Ok(created::on_created(&tailer, &event, super::now_of(&state, &inv)).await?)
}

/// `AuditLogTail`: one bounded tick over the hour blobs that grew.
///
/// # Errors
/// `Retryable` when the cursors cannot be read, or every blob (or host listing) failed.
pub async fn audit_log_tail(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let report = tail::tick(&crate::state::tailer(&state), super::now_of(&state, &inv)).await?;
    // A 500 drops outputs: a tick holding digests it won must deliver them (failed blobs resume).
    let blobs_failed = report.failed > 0 && report.failed == report.blobs;
    let hosts_failed = report.hosts_failed > 0 && report.hosts_failed == report.hosts;
    if (blobs_failed || (hosts_failed && report.blobs == 0)) && report.notifications.is_empty() {
        return Err(Failure::storage(anyhow::anyhow!(
            "all {} audit blobs and {} of {} audit-log hosts failed this tick",
            report.failed,
            report.hosts_failed,
            report.hosts
        )));
    }
    Ok(tail::outcome(report))
}

/// The workspace source of `state`, when one is configured.
pub fn workspace_query(state: &AppState) -> Option<Query> {
    Some(Query {
        tail: crate::state::tailer(state),
        logs: state.logs.clone()?,
        settings: Arc::new(state.config.workspaces.query.clone()),
    })
}

/// `AuditLogQuery`: one bounded tick over the configured workspaces (none: nothing to do).
///
/// # Errors
/// `Retryable` when every workspace failed and nothing is to be delivered.
pub async fn audit_log_query(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let Some(q) = workspace_query(&state) else {
        return Ok(Outcome::skipped(
            "no Log Analytics workspace configured (AUDITLOGS_WORKSPACES)",
        ));
    };
    let report = query::tick(&q, super::now_of(&state, &inv)).await?;
    if report.failed > 0
        && report.failed == report.workspaces
        && report.joined.notifications.is_empty()
    {
        return Err(Failure::storage(anyhow::anyhow!(
            "all {} workspaces failed this tick (see /api/health)",
            report.failed
        )));
    }
    Ok(query::outcome(report))
}
