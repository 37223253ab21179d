//! `EstateCheck` (timer, every 15 minutes): the Bastion hosts' configuration, diagnostic
//! settings and recording storage through Resource Manager, into table `estate` and the
//! `estate.finding` / `estate.resolved` notifications.

use super::now_of;
use crate::estate::{check, disconnect, live};
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::state::AppState;

pub use crate::estate::FUNCTION as ESTATE_CHECK;
pub use crate::estate::live::FUNCTION as LIVE_SESSIONS;

/// `EstateCheck`: checks every configured host.
///
/// Skipped when no host is configured. Processed otherwise, with the notifications of the
/// episodes it opened or cleared: an unreachable host or a missing role is that host's finding,
/// not a failure. Retryable only when no host's findings could be stored (table storage down).
///
/// # Errors
/// `Retryable` as above.
pub async fn estate_check(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let hosts = &state.config.estate.hosts;
    let Some(arm) = state.arm.as_ref().filter(|_| !hosts.is_empty()) else {
        return Ok(Outcome::skipped(
            "no Bastion host configured (BASTION_HOSTS): the estate checks are off",
        ));
    };
    let workspaces = state.config.workspaces.query.workspaces.iter();
    let ids: Vec<String> = workspaces.map(|w| w.id.clone()).collect();
    let sinks = check::sinks(
        &state.ports,
        &ids,
        state.config.custody.workspace.as_deref(),
    );
    let arm = crate::arm::bounded(arm, std::time::Instant::now() + check::BUDGET);
    let report = check::run(
        &state.ports,
        arm.as_ref(),
        &state.config.estate,
        &sinks,
        now_of(&state, &inv),
    )
    .await;
    if !report.failed.is_empty() && report.failed.len() == report.hosts {
        return Err(HandlerError::storage(anyhow::anyhow!(
            "no host's findings could be stored: {}",
            report.failed.join("; ")
        )));
    }
    for f in &report.failed {
        tracing::warn!(host = %f, "estate findings not stored; the next check retries");
    }
    if let Some(e) = &report.unexported {
        tracing::warn!(error = %e, "estate findings' Sentinel rows not all recorded; the next check records them");
    }
    let summary = format!(
        "checked {} Bastion host(s): {} finding(s) open, {} opened or cleared",
        report.hosts,
        report.open,
        report.notifications.len()
    );
    Ok(Outcome::processed(summary).with_outputs(OUTPUT_BINDING, &report.notifications))
}

/// `LiveSessions` (timer, every 5 minutes): the sessions each host's control plane reports now,
/// into table `livesessions`, `session.unrecordable` for those that will never be recorded, and
/// `session.unaudited` for those the audit logs still lack `RECORDING_SESSION_WAIT_MINUTES` after
/// their start.
///
/// Skipped when no host is configured; Processed otherwise (a host that failed is logged and
/// read again next tick); Retryable only when every host failed.
///
/// # Errors
/// `Retryable` as above.
pub async fn live_sessions(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let hosts = &state.config.estate.hosts;
    let Some(arm) = state.arm.as_ref().filter(|_| !hosts.is_empty()) else {
        return Ok(Outcome::skipped(
            "no Bastion host configured (BASTION_HOSTS)",
        ));
    };
    let now = now_of(&state, &inv);
    let arm = crate::arm::bounded(arm, std::time::Instant::now() + live::BUDGET);
    let wait = state.config.audit.session_wait;
    let mut report = live::tick(&state.ports, arm.as_ref(), hosts, wait, now).await;
    match disconnect::announce(state.ports.tables.as_ref(), &state.ports.outbox, now).await {
        Ok(mut n) => report.notifications.append(&mut n),
        Err(e) => tracing::warn!(error = %e, "disconnects not announced; the next tick retries"),
    }
    for f in &report.failed {
        tracing::warn!(host = %f, "live sessions not read; the next tick retries");
    }
    if !report.failed.is_empty() && report.failed.len() == hosts.len() {
        return Err(HandlerError::storage(anyhow::anyhow!(
            "no host's live sessions could be read: {}",
            report.failed.join("; ")
        )));
    }
    let summary = format!(
        "{} live session(s) on {} host(s), {} announced",
        report.live,
        hosts.len(),
        report.notifications.len()
    );
    Ok(Outcome::processed(summary).with_outputs(OUTPUT_BINDING, &report.notifications))
}
