//! `CustodyActor` (timer, every minute): who deleted or replaced a recording outside the product,
//! from the custody workspace's `StorageBlobLogs` ([`crate::custody::lookup`]).

use crate::custody::lookup;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::state::AppState;

/// The function (folder) name.
pub const CUSTODY_ACTOR: &str = "CustodyActor";

/// `CustodyActor`: skipped without a custody workspace; a 429 is processed (the next tick goes on).
///
/// # Errors
/// `Retryable` when the tables cannot be read or written (every step is idempotent).
pub async fn custody_actor(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let settings = &state.config.custody;
    let (Some(workspace), Some(logs)) = (settings.workspace.as_deref(), state.logs.as_deref())
    else {
        return Ok(Outcome::skipped(
            "no custody workspace (CUSTODY_WORKSPACE_ID)",
        ));
    };
    let now = super::now_of(&state, &inv);
    let pass = lookup::pass(&state.ports, logs, settings, workspace, now)
        .await
        .map_err(HandlerError::storage)?;
    let o = Outcome::processed(format!(
        "custody: {} actors recorded, {} lookups waiting{}",
        pass.recorded,
        pass.waiting,
        if pass.throttled {
            " (throttled: the rest next tick)"
        } else {
            ""
        }
    ));
    Ok(o.with_outputs(OUTPUT_BINDING, &pass.notifications))
}
