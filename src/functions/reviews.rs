//! `ReviewQueue` (timer, every 5 minutes): derive the review queue entries of the sessions the join
//! recorded as changed (whatever their day), then raise `review.overdue` for queued sessions past
//! their deadline.

use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::reviews::queue::{derive, overdue};
use crate::state::AppState;

/// The function (folder) name.
pub const REVIEW_QUEUE: &str = "ReviewQueue";

/// `ReviewQueue`: "now" is `sys.UtcNow`, else the clock.
///
/// # Errors
/// `Retryable` when the tables cannot be read or written (every write is idempotent: the next
/// tick, or the host's retry, resumes).
pub async fn review_queue(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let now = super::binding::now_of(&state, &inv);
    let settings = &state.config.reviews;
    let people = state.directory.as_deref();
    let done = derive::refresh(&state.ports, settings, people, &crate::state::Raised, now)
        .await
        .map_err(Failure::storage)?;
    let (tables, hours) = (state.ports.tables.as_ref(), settings.deadline.whole_hours());
    let due = (overdue::overdue(tables, hours, now).await).map_err(Failure::storage)?;
    let o = Outcome::processed(format!(
        "review queue: {} sessions derived, {} queued; {} overdue; {} self-reviews found after the join; {} people not resolved",
        done.sessions,
        done.queued,
        due.len(),
        done.self_reviews,
        done.unresolved
    ));
    Ok(crate::spine::send(o, due))
}
