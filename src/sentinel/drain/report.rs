//! What one drain run did and why it ended early: the report the `SentinelExport` function
//! logs and answers with.

use crate::export::Table;

/// What one run did, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `(table, rows accepted)` of the tables this run drained.
    pub sent: Vec<(Table, usize)>,
    /// Calls made.
    pub calls: usize,
    /// Tables another instance was draining.
    pub leased_elsewhere: Vec<Table>,
    /// Rows still waiting in the tables this run read (at least; the page it stopped in).
    pub left: usize,
    /// What ended the run early (the service's answer, or a table error).
    pub error: Option<RunError>,
    /// Closed buckets deleted whole, every row in them sent.
    pub dropped: usize,
    /// Rows retired unsent because a later bucket holds the same row (sent from there).
    pub superseded: usize,
}

/// Why a run ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The service asked to wait beyond the run's end.
    Throttled(String),
    /// Anything else: the service refused or failed, or the outbox could not be read.
    Failed(String),
}

impl RunError {
    /// `table`'s failure (`e`), naming the table.
    pub fn of(table: Table, e: impl std::fmt::Display) -> Self {
        Self::Failed(format!("{}: {e}", table.key()))
    }
}

impl Report {
    /// Rows accepted in all.
    pub fn total(&self) -> usize {
        self.sent.iter().map(|(_, n)| n).sum()
    }
}
