//! Audit logs: Bastion `PT1H.json` append blobs → sessions → enriched recordings.
//!
//! # Layout
//! - [`parse`] (pure, streaming): JSON Lines and legacy `{"records":[…]}` into borrowed records.
//! - [`sessions`] (pure): records folded into one [`sessions::SessionRecord`] per tunnelId.
//! - [`path`] (pure): the `resourceId=/…/BASTIONHOSTS/<name>/y=/m=/d=/h=/m=00/PT1H.json` path.
//! - [`detect`] (pure decisions + I/O): unrecorded sessions, stalled recordings, failed-login bursts.
//! - [`repo`]: tables `auditcursors`, `failedlogins`, `auditstate` (sessions and their index rows
//!   are the catalogue's: [`crate::catalogue::session`], [`crate::catalogue::window`]).
//! - [`created`] (`AuditLogCreated`), [`tail`] (`AuditLogTail`: read, then the join pass of
//!   [`crate::join`], then the detections).
//!
//! Tests: unit tests beside the pure parts, component tests over the in-memory fakes in
//! `tail::tests`, real-process tests on Azurite in `tests/e2e/audit_logs/`.

pub mod created;
pub mod detect;
pub mod parse;
pub mod path;
pub mod query;
pub mod repo;
pub mod sessions;
pub mod settings;
pub mod tail;

pub use settings::AuditSettings;

/// `AuditLogCreated`: Event Grid trigger on the audit-log container.
pub const CREATED_FUNCTION: &str = "AuditLogCreated";
/// `AuditLogTail`: timer, every minute.
pub const TAIL_FUNCTION: &str = "AuditLogTail";
/// `Reconcile`: timer, hourly.
pub const RECONCILE_FUNCTION: &str = "Reconcile";
