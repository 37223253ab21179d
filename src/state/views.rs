//! The narrow dependencies each domain takes, built from the state by the entry points.

use super::AppState;
use crate::audit_logs::detect::stalled::Stalled;
use crate::audit_logs::join::Join;
use crate::audit_logs::tail::Tail;
use crate::health::report::Health;
use crate::integrity::Integrity;
use crate::notify::handler::Dispatch;
use crate::recordings::Recordings;
use crate::retention::hold::Holds;
use crate::retention::sweep::Sweeper;

impl AppState {
    /// Cataloguing recordings (`RecordingCreated`, Reconcile, backfill).
    pub fn recordings(&self) -> Recordings {
        Recordings {
            sources: self.ports.sources.clone(),
            tables: self.ports.tables.clone(),
            policy: self.policy.clone(),
            clock: self.ports.clock.clone(),
        }
    }

    /// Legal holds and overrides (API, CLI).
    pub fn holds(&self) -> Holds {
        Holds {
            sources: self.ports.sources.clone(),
            tables: self.ports.tables.clone(),
            clock: self.ports.clock.clone(),
        }
    }

    /// The retention sweep (`RetentionSweep`, CLI `sweep`).
    pub fn sweeper(&self) -> Sweeper {
        Sweeper {
            sources: self.ports.sources.clone(),
            tables: self.ports.tables.clone(),
            policy: self.policy.clone(),
            settings: self.config.retention.clone(),
        }
    }

    /// Hashing and verifying recordings (`RecordingHash`, `IntegrityVerify`, CLI `verify`).
    pub fn integrity(&self) -> Integrity {
        Integrity {
            sources: self.ports.sources.clone(),
            tables: self.ports.tables.clone(),
            clock: self.ports.clock.clone(),
        }
    }

    /// Delivering notifications (`NotifyWebhook`).
    pub fn dispatch(&self) -> Dispatch {
        Dispatch {
            notifier: self.notifier.clone(),
            tables: self.ports.tables.clone(),
            quarantine: self.quarantine.clone(),
            clock: self.ports.clock.clone(),
        }
    }

    /// The recording ↔ session join (`RecordingCreated`, Reconcile, backfill).
    pub fn join(&self) -> Join {
        Join::new(
            self.ports.tables.clone(),
            self.ports.sources.clone(),
            self.policy.clone(),
            &self.audit,
            self.join_gate.clone(),
            self.ports.clock.clone(),
        )
    }

    /// Tailing audit logs (`AuditLogCreated`, `AuditLogTail`, Reconcile, backfill), reading the
    /// default audit-log source until a cursor names another.
    pub fn tail(&self) -> Tail {
        let logs = self.ports.sources.default_audit_logs();
        Tail {
            tables: self.ports.tables.clone(),
            sources: self.ports.sources.clone(),
            logs: logs.store.clone(),
            container: logs.container.clone(),
            quarantine: self.quarantine.clone(),
            retention_class: self.config.retention.audit_logs_class.clone(),
            settings: self.audit.clone(),
            join: self.join(),
            clock: self.ports.clock.clone(),
        }
    }

    /// The stalled-recordings check (`Reconcile`).
    pub fn stalled(&self) -> Stalled {
        Stalled {
            tables: self.ports.tables.clone(),
            sources: self.ports.sources.clone(),
            after: self.audit.stalled_after,
            upload_lag: self.audit.upload_lag,
        }
    }

    /// The `/api/health` report.
    pub fn health(&self) -> Health {
        Health {
            tables: self.ports.tables.clone(),
            app_blobs: self.app_blobs.clone(),
            quarantine_container: self.config.quarantine_container.clone(),
            heartbeats: self.heartbeats.clone(),
            queues: self.queues.clone(),
            tail_window: self.audit.tail_window,
            sources: self.ports.sources.clone(),
        }
    }
}
