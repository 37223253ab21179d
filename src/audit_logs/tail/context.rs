//! What tailing needs, built by its caller (the function entry point, `AuditLogCreated`, the
//! backfill): the tables, the audit-log blobs, the quarantine, the audit settings, the join and
//! the clock its time budget is read on.

use std::sync::Arc;

use crate::audit_logs::AuditSettings;
use crate::audit_logs::join::Join;
use crate::clock::Clock;
use crate::invocation::Quarantine;
use crate::storage::BlobStore;
use crate::tables::TableStore;

/// The tail's dependencies.
#[derive(Clone)]
pub struct Tail {
    /// The app's tables (cursors, sessions, index rows, failed logins).
    pub tables: Arc<dyn TableStore>,
    /// The audit-log account.
    pub logs: Arc<dyn BlobStore>,
    /// The audit-log container.
    pub container: String,
    /// Where corrupt lines go.
    pub quarantine: Quarantine,
    /// `AUDIT_*` and detection settings.
    pub settings: Arc<AuditSettings>,
    /// The recording ↔ session join run after reading.
    pub join: Join,
    /// The clock the time budget is read on.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail")
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}
