//! `ReviewQueue` (timer, every 5 minutes): re-derive the review queue of the sessions that started
//! yesterday and today, then raise `review.overdue` for queued sessions past their deadline.

use crate::events::timer::TimerInfo;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::reviews::queue::{index, overdue};
use crate::state::AppState;

/// The function (folder) name.
pub const REVIEW_QUEUE: &str = "ReviewQueue";

/// `ReviewQueue`: "now" is `sys.UtcNow`, else the clock.
///
/// # Errors
/// `Retryable` when the tables cannot be read or written (every write is idempotent: the next
/// tick, or the host's retry, resumes).
pub async fn review_queue(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    // The timer payload carries nothing the queue needs; a malformed one must not stop it.
    let _timer: Option<TimerInfo> = inv.request.data_object("timer").ok();
    let now = super::now_of(&state, &inv);
    let settings = &state.config.reviews;
    let today = now.date();
    let days: Vec<_> = today.previous_day().into_iter().chain([today]).collect();
    let done = index::refresh(&state.ports, settings, &days, now)
        .await
        .map_err(HandlerError::storage)?;
    let due = overdue::overdue(
        state.ports.tables.as_ref(),
        settings.deadline.whole_hours(),
        now,
    )
    .await
    .map_err(HandlerError::storage)?;
    let o = Outcome::processed(format!(
        "review queue: {} sessions read, {} re-derived, {} queued; {} overdue",
        done.sessions,
        done.changed,
        done.queued,
        due.len()
    ));
    Ok(o.with_outputs(OUTPUT_BINDING, &due))
}
