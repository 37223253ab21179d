//! `CustodyActor` (timer, every minute): the changes the recording accounts' `StorageBlobLogs`
//! show ([`crate::recordings::logged`]), then who deleted or replaced a recording outside the
//! product ([`crate::custody::lookup`]); folded alert bursts whose window closed, and the actors
//! of their folded alerts once all are known ([`crate::custody::burst_actors`]).

use tracing::warn;

use crate::custody::{burst, burst_actors, lookup};
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::state::AppState;

/// The function (folder) name.
pub const CUSTODY_ACTOR: &str = "CustodyActor";

/// `CustodyActor`: bursts first (with or without a custody workspace), then the logs; a 429 is
/// processed (the next tick goes on).
///
/// # Errors
/// `Retryable` when the tables or the recordings cannot be read or written (every step is
/// idempotent: the changes cursor stays before a row that failed).
pub async fn custody_actor(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let settings = &state.config.custody;
    let now = super::binding::now_of(&state, &inv);
    let (tables, lookups) = (state.ports.tables.as_ref(), settings.workspace.is_some());
    let bursts = burst::close(tables, now, lookups).await?;
    let (Some(workspace), Some(logs)) = (settings.workspace.as_deref(), state.logs.as_deref())
    else {
        let o = Outcome::processed(format!(
            "{} alert bursts sent; no custody workspace (CUSTODY_WORKSPACE_ID)",
            bursts.len()
        ));
        return Ok(crate::spine::send(o, bursts));
    };
    let changes = crate::state::recordings(&state)
        .logged_changes(logs, workspace, now)
        .await?;
    if let Some(e) = &changes.error {
        warn!(error = %e, "the custody changes pass stopped; read on next tick");
    }
    // The changes' alerts are recorded and their rows will not be read again: a later failure
    // of this run is named in its outcome and left to the next tick (every step is idempotent)
    // rather than failing the run, which would drop those alerts for good.
    let mut later = None;
    let mut kept = |e: crate::azure::AzureError| {
        if changes.findings.is_empty() {
            return Err(Failure::storage(e));
        }
        warn!(error = %e, "custody: a later step failed; its rest runs next tick");
        later = Some(crate::telemetry::redact(&e.to_string()));
        Ok(())
    };
    let pass = match lookup::pass(&state.ports, logs, settings, workspace, now).await {
        Ok(p) => p,
        Err(e) => kept(e).map(|()| lookup::Pass::default())?,
    };
    // The actors of folded alerts, once all are known (after the lookups this pass recorded).
    let burst_actors = match burst_actors::follow_ups(tables, now, settings.actor_wait).await {
        Ok(b) => b,
        Err(e) => kept(e).map(|()| Vec::new())?,
    };
    let o = Outcome::processed(format!(
        "custody: {} logged changes read, {} actors recorded, {} lookups waiting{}{}",
        changes.rows,
        pass.recorded,
        pass.waiting,
        if pass.throttled || changes.throttled {
            " (throttled: the rest next tick)"
        } else {
            ""
        },
        changes
            .error
            .as_deref()
            .map(|e| format!(" (changes pass stopped: {e})"))
            .unwrap_or_default()
            + &later
                .map(|e| format!(" (lookups stopped: {e})"))
                .unwrap_or_default()
    ));
    // A follow-up the changes just sent (its actor read from the log row) and the lookup pass
    // sends again goes out once in this run.
    let sent: std::collections::HashSet<String> = changes
        .findings
        .iter()
        .map(crate::spine::Finding::id)
        .collect();
    let mut follow_ups = pass.findings;
    follow_ups.retain(|f| !sent.contains(&f.id()));
    let found = bursts.into_iter().chain(changes.findings);
    Ok(crate::spine::send(
        o,
        found.chain(follow_ups).chain(burst_actors),
    ))
}
