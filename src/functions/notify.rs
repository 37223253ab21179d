//! `NotifyWebhook` (queue `notifications`): one notification → every routed destination (Teams,
//! Slack, signed webhook), each at most once through the claim table.

use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::notify::handler::{Dispatch, deliver_message};
use crate::state::AppState;

pub use crate::notify::handler::FUNCTION as NOTIFY_WEBHOOK;

/// Handles one invocation.
///
/// # Errors
/// `Poison` for undecodable messages, `Retryable` when a destination must be retried.
pub async fn notify_webhook(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let dispatch = Dispatch {
        notifier: state.notifier.clone(),
        ports: state.ports.clone(),
        quarantine: state.quarantine.clone(),
    };
    Ok(deliver_message(&dispatch, &inv).await?.into())
}
