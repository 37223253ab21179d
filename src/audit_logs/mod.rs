//! Audit logs: Bastion `PT1H.json` append blobs (and workspace rows, [`query`]) → sessions →
//! joined recordings and detections. Each module's path is in `docs/architecture.md`.

pub mod created;
pub mod detect;
pub mod error;
pub mod parse;
pub mod path;
pub mod query;
pub mod repo;
pub mod sessions;
pub mod settings;
pub mod tail;

pub use error::Error;
pub use settings::AuditSettings;

/// `AuditLogCreated`: Event Grid trigger on the audit-log container.
pub const CREATED_FUNCTION: &str = "AuditLogCreated";
/// `AuditLogTail`: timer, every minute.
pub const TAIL_FUNCTION: &str = "AuditLogTail";
/// `Reconcile`: timer, hourly.
pub const RECONCILE_FUNCTION: &str = "Reconcile";
