//! The Functions names of the audit-log entry points: the host's function names, which the
//! tail's status rows and the health report name too.

/// `AuditLogCreated`: Event Grid trigger on the audit-log container.
pub const CREATED_FUNCTION: &str = "AuditLogCreated";
/// `AuditLogTail`: timer, every minute.
pub const TAIL_FUNCTION: &str = "AuditLogTail";
/// `Reconcile`: timer, hourly.
pub const RECONCILE_FUNCTION: &str = "Reconcile";
