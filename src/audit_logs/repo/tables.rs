//! The audit-log domain's table names (logical; the table client applies `TABLE_PREFIX`), each
//! charted in the folder's own doc.

/// Table of tail cursors.
pub const CURSORS_TABLE: &str = "auditcursors";
/// Failed logins per window and dimension.
pub const FAILED_TABLE: &str = "failedlogins";
/// Dedupe markers.
pub const STATE_TABLE: &str = "auditstate";
