//! `AuditLogQuery` (timer, every minute): Bastion audit records read from Log Analytics workspaces
//! (`AUDITLOGS_WORKSPACES`) go through the tail's own batch and writes (its entry point then runs
//! the detections and the join, as for the tail), so a Bastion sending to both the archive and a
//! workspace doubles nothing.

pub mod history;
pub mod kql;
pub mod page;
pub mod row;
pub mod run;
pub mod source;
pub mod store;

pub use source::{Query, QuerySettings, Workspace};

use time::OffsetDateTime;
use tracing::error;

use super::error::Error;
use super::tail::TickReport;
use crate::clock::Budget;
use crate::telemetry::redact;

/// `AuditLogQuery`: timer, every minute.
pub const FUNCTION: &str = "AuditLogQuery";

/// Share of the time budget reading may use; the entry point's join and detections get the rest.
const READ_SHARE: f64 = 0.5;

/// Totals of one tick.
#[derive(Debug, Default)]
pub struct QueryReport {
    /// Workspaces read.
    pub workspaces: usize,
    /// Workspaces that failed (named in their status rows).
    pub failed: usize,
    /// Queries sent.
    pub queries: u64,
    /// Rows stored.
    pub stored: u64,
    /// Sessions written and work left (its entry point adds the join, detections and findings).
    pub joined: TickReport,
}

/// One tick: every workspace (those still inside a `Retry-After` skipped).
///
/// # Errors
/// None today; a failing workspace is reported in its status row and the log.
pub async fn tick(q: &Query, now: OffsetDateTime) -> Result<QueryReport, Error> {
    let time = Budget::after(q.tail.ports.clock.clone(), q.tail.settings.tail_budget);
    let reading = time.share(READ_SHARE);
    let mut report = QueryReport::default();
    let start = now - q.tail.settings.tail_look_back;
    for ws in &q.settings.workspaces {
        if reading.passed() {
            report.joined.cut = true;
            break;
        }
        let tables = q.tail.ports.tables.as_ref();
        let previous = store::status(tables, &ws.id).await.ok().flatten();
        let waiting = previous
            .as_ref()
            .and_then(|s| s.retry_after)
            .is_some_and(|until| until > now);
        if waiting {
            continue;
        }
        let span = run::Span {
            row: store::CURSOR_ROW,
            start,
            until: now - q.settings.lag,
        };
        let r = run::read(q, ws, span, now, &reading).await;
        report.workspaces += 1;
        match &r {
            Ok(read) => {
                report.queries += read.queries;
                report.stored += read.stored;
                report.joined.sessions += read.sessions;
                report.joined.cut |= read.cut;
            }
            Err(e) => {
                report.failed += 1;
                error!(workspace = %ws.id, error.cause_chain = %redact(&e.to_string()), "reading a workspace failed; retried next tick from its cursor");
            }
        }
        let status = run::status_of(ws, &r, now, previous.as_ref());
        if let Err(e) = store::put_status(tables, &status).await {
            error!(workspace = %ws.id, error.cause_chain = %redact(&e.to_string()), "writing a workspace's status failed");
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
