//! `EstateCheck` (timer, every 15 minutes): the Bastion hosts' configuration, diagnostic
//! settings and recording storage through Resource Manager, into table `estate` and the
//! `estate.finding` / `estate.resolved` notifications.

use super::audit_logs::now_of;
use crate::estate::check;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::state::AppState;

pub use crate::estate::FUNCTION as ESTATE_CHECK;

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
    let sinks = check::sinks(&state.ports, &[]);
    let report = check::run(&state.ports, arm.as_ref(), hosts, &sinks, now_of(&state, &inv)).await;
    if !report.failed.is_empty() && report.failed.len() == report.hosts {
        return Err(HandlerError::storage(anyhow::anyhow!(
            "no host's findings could be stored: {}",
            report.failed.join("; ")
        )));
    }
    for f in &report.failed {
        tracing::warn!(host = %f, "estate findings not stored; the next check retries");
    }
    let summary = format!(
        "checked {} Bastion host(s): {} finding(s) open, {} opened or cleared",
        report.hosts,
        report.open,
        report.notifications.len()
    );
    Ok(report
        .notifications
        .iter()
        .fold(Outcome::processed(summary), |o, n| o.with_output(OUTPUT_BINDING, n)))
}
