//! The backfill's workspace pass: each Log Analytics workspace's retained history in the range,
//! through [`crate::audit_logs::query::history`] (its own cursor, so a rerun resumes). A workspace
//! that fails is named in the summary and retried by the next run; the others go on.

use serde_json::Value;

use super::summary::{Summary, WorkspaceTotals};
use super::walk::Options;
use crate::audit_logs::query::history;
use crate::state::AppState;

/// Reads every configured workspace over `opts`' range (none configured: nothing).
pub(super) async fn read(
    state: &AppState,
    opts: &Options,
    s: &mut Summary,
    emit: &mut dyn FnMut(&str, Value),
) {
    let Some(q) = crate::state::workspace_query(state) else {
        return;
    };
    let now = state.ports.clock.now();
    let h = history::read(&q, opts.from, opts.to, now, opts.restart).await;
    for m in crate::spine::messages(h.findings) {
        emit(crate::spine::QUEUE, m);
    }
    s.errors += h.failed.len();
    s.complete &= h.failed.is_empty();
    s.failed.extend(h.failed);
    s.workspaces = Some(WorkspaceTotals {
        read: h.workspaces,
        queries: h.queries,
        stored: h.stored,
    });
}
