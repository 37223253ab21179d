//! `AuditLogQuery` (timer, every minute): Bastion audit records read from Log Analytics workspaces
//! (`AUDITLOGS_WORKSPACES`) go through the tail's own batch and writes (its entry point then runs
//! the detections and the join, as for the tail), so a Bastion sending to both the archive and a
//! workspace doubles nothing.

pub mod history;
pub mod kql;
pub mod page;
pub mod row;
pub mod run;
pub mod store;

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use tracing::error;

use super::tail::{Tailer, TickReport};
use crate::audit_logs::Error;
use crate::clock::Budget;
use crate::loganalytics::LogsQuery;
use crate::telemetry::redact;

/// `AuditLogQuery`: timer, every minute.
pub const FUNCTION: &str = "AuditLogQuery";

/// Share of the time budget reading may use; the entry point's join and detections get the rest.
const READ_SHARE: f64 = 0.5;

/// One workspace source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The workspace's customer id (a GUID, lower-case).
    pub id: String,
    /// The Bastion host (lower-case name) the source is tied to: only its records are read, and
    /// a record that names no host is taken as its.
    pub bastion: Option<String>,
}

/// The workspace source's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySettings {
    /// `AUDITLOGS_WORKSPACES`.
    pub workspaces: Vec<Workspace>,
    /// `AUDITLOGS_QUERY_LAG_SECONDS`: rows are read up to `now − lag` (ingestion is visible late).
    pub lag: Duration,
    /// `AUDITLOGS_QUERY_OVERLAP_SECONDS`: each tick re-asks this much before its cursor.
    pub overlap: Duration,
    /// `AUDITLOGS_QUERY_PAGE_ROWS`: rows per query.
    pub page_rows: usize,
}

impl Default for QuerySettings {
    fn default() -> Self {
        Self {
            workspaces: Vec::new(),
            lag: Duration::minutes(2),
            overlap: Duration::minutes(5),
            page_rows: 10_000,
        }
    }
}

/// What the query source needs: the tail's dependencies, the query client and the settings.
#[derive(Clone)]
pub struct Query {
    /// The tail's dependencies.
    pub tail: Tailer,
    /// The Logs Query API client.
    pub logs: Arc<dyn LogsQuery>,
    /// The settings.
    pub settings: Arc<QuerySettings>,
}

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
        let r = run::read(
            &q.tail,
            q.logs.as_ref(),
            &q.settings,
            ws,
            span,
            now,
            &reading,
        )
        .await;
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
