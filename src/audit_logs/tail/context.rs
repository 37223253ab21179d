//! What tailing needs, built by its caller (the function entry point, `AuditLogCreated`, the
//! backfill): the tables, the audit-log blobs, the quarantine, the audit settings, the join and
//! the clock its time budget is read on.

use crate::ports::Ports;
use std::sync::Arc;

use crate::audit_logs::AuditSettings;
use crate::invocation::HandlerError;
use crate::invocation::Quarantine;
use crate::join::Join;
use crate::storage::BlobStore;

/// The tail's dependencies.
#[derive(Clone)]
pub struct Tailer {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// The store of the source being read ([`Tailer::for_cursor`]; the default source's otherwise).
    pub logs: Arc<dyn BlobStore>,
    /// The container of the source being read.
    pub container: String,
    /// Where corrupt lines go.
    pub quarantine: Quarantine,
    /// `RETENTION_CLASS_AUDITLOGS`: the class a new hour blob is tagged with.
    pub retention_class: String,
    /// `AUDIT_*` and detection settings.
    pub settings: Arc<AuditSettings>,
    /// The recording ↔ session join: its settings give a session change's pending range, and its
    /// pass runs after reading.
    pub join: Join,
}

impl std::fmt::Debug for Tailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tailer")
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

impl Tailer {
    /// Tailing over `ports`, reading the default audit-log source until a cursor names another.
    pub fn new(
        ports: &Ports,
        join: Join,
        quarantine: Quarantine,
        retention_class: String,
        settings: Arc<AuditSettings>,
    ) -> Self {
        let logs = ports.sources.default_audit_logs();
        Self {
            ports: ports.clone(),
            logs: logs.store.clone(),
            container: logs.container.clone(),
            quarantine,
            retention_class,
            settings,
            join,
        }
    }

    /// The same dependencies reading the source `cursor` names.
    ///
    /// # Errors
    /// `Poison`-free: a cursor of a source no longer configured is a storage error (retried next
    /// tick, logged), so configuring the source again resumes it where it stopped.
    pub fn for_cursor(
        &self,
        cursor: &crate::audit_logs::repo::Cursor,
    ) -> Result<Self, HandlerError> {
        let source = self
            .ports
            .sources
            .of_cursor(&cursor.account, &cursor.container)
            .ok_or_else(|| {
                HandlerError::storage(anyhow::anyhow!(
                    "audit-log source {}/{} of {} is not configured",
                    cursor.account,
                    cursor.container,
                    cursor.blob
                ))
            })?;
        Ok(Self {
            logs: source.store.clone(),
            container: source.container.clone(),
            ..self.clone()
        })
    }
}
