//! The totals of a backfill run, and how each item's result counts.

use serde::Serialize;
use serde_json::Value;

use super::items::Done;

/// Totals of a run.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Recordings catalogued now.
    pub catalogued: usize,
    /// Recordings already catalogued.
    pub already_present: usize,
    /// The run's join pass over its range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined: Option<JoinTotals>,
    /// Audit-log hours tailed now.
    pub audit_logs_tailed: usize,
    /// Audit-log hours tailed before.
    pub audit_logs_present: usize,
    /// Dry run: items that would be catalogued or tailed.
    pub would_process: usize,
    /// Items that failed (retried by the next run).
    pub errors: usize,
    /// Their names (`kind:name`).
    pub failed: Vec<String>,
    /// False when `--limit` stopped the run early, or a source could not be walked.
    pub complete: bool,
    /// Log Analytics workspaces (`AUDITLOGS_WORKSPACES`): the history read from them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspaces: Option<WorkspaceTotals>,
    /// `--hash`: the hashing pass's totals (its failures are also in `errors` / `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashes: Option<super::hashes::HashTotals>,
}

/// What the run's join pass did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct JoinTotals {
    /// Recordings decided.
    pub evaluated: usize,
    /// Catalogue rows whose join changed.
    pub rewritten: usize,
    /// Sessions whose recorded state was derived.
    pub sessions: usize,
}

/// What a backfill read from the workspaces.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct WorkspaceTotals {
    /// Workspaces read through the range.
    pub read: usize,
    /// Queries sent.
    pub queries: u64,
    /// Rows newly stored (rows already stored by the timer or the archive are not counted).
    pub stored: u64,
}

impl Summary {
    /// One line for logs.
    pub fn line(&self) -> String {
        format!(
            "{} catalogued, {} already present, {} joined, {} audit logs tailed, {} tailed before, {} errors",
            self.catalogued,
            self.already_present,
            self.joined.as_ref().map_or(0, |j| j.rewritten),
            self.audit_logs_tailed,
            self.audit_logs_present,
            self.errors
        )
    }

    pub(super) fn count(&mut self, done: &Done, emit: &mut dyn FnMut(&str, Value)) {
        match done {
            Done::Catalogued(outputs) => {
                self.catalogued += 1;
                for (binding, one) in outputs.iter() {
                    emit(binding, crate::invocation::outputs::decode(one));
                }
            }
            Done::Present => self.already_present += 1,
            Done::Tailed => self.audit_logs_tailed += 1,
            Done::TailedBefore => self.audit_logs_present += 1,
            Done::Would => self.would_process += 1,
            Done::Ignored => {}
        }
    }
}
