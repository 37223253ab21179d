//! The workspace source: which workspaces it reads ([`Workspace`]), its settings
//! ([`QuerySettings`]) and what a tick needs ([`Query`]).

use std::sync::Arc;

use time::Duration;

use crate::audit_logs::tail::Tailer;
use crate::loganalytics::LogsQuery;

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
