//! `handler backfill` over a workspace's retained history: its own cursor row (so a rerun resumes
//! and the live cursor never moves back), no time budget; rows already stored are upserted alike.

use time::OffsetDateTime;
use tracing::error;

use super::run::{self, Span};
use super::source::Query;
use super::store;
use crate::audit_logs::detect::unchecked;
use crate::clock::Budget;
use crate::spine::Finding;
use crate::telemetry::redact;

/// What a history read did.
#[derive(Debug, Default)]
pub struct History {
    /// Workspaces read to `to`.
    pub workspaces: usize,
    /// Workspaces that failed (`workspace: what`; the next run resumes them).
    pub failed: Vec<String>,
    /// Queries sent.
    pub queries: u64,
    /// Rows newly stored.
    pub stored: u64,
    /// The failed-login digests the history produced.
    pub findings: Vec<Finding>,
}

/// Reads every workspace's history in `[from, to)` (capped at `now − lag`: the timer reads on).
/// `restart` starts the backfill cursor at `from` again.
///
/// # Errors
/// None: a failing workspace is named in [`History::failed`] and the others go on.
pub async fn read(
    q: &Query,
    from: OffsetDateTime,
    to: OffsetDateTime,
    now: OffsetDateTime,
    restart: bool,
) -> History {
    let never = Budget::unlimited(q.tail.ports.clock.clone());
    let until = to.min(now - q.settings.lag);
    let mut out = History::default();
    let tables = q.tail.ports.tables.as_ref();
    for ws in &q.settings.workspaces {
        if restart && let Err(e) = store::forget(tables, &ws.id, store::BACKFILL_ROW).await {
            out.failed.push(format!("workspace {}: {e}", ws.id));
            continue;
        }
        let span = Span {
            row: store::BACKFILL_ROW,
            start: from,
            until,
        };
        let r = run::read(q, ws, span, now, &never).await;
        match r {
            Ok(read) => {
                out.workspaces += 1;
                out.queries += read.queries;
                out.stored += read.stored;
            }
            Err(e) => {
                error!(workspace = %ws.id, error.cause_chain = %redact(&e.to_string()), "reading a workspace's history failed; the next run resumes it");
                out.failed
                    .push(format!("workspace {}: {}", ws.id, run::shown(&e)));
            }
        }
    }
    out.findings = unchecked::bursts(&q.tail.ports, &q.tail.settings).await;
    out
}
