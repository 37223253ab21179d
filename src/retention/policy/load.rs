//! Loading the retention policy a setting names, with the start-up checks.

use std::path::Path;

use super::Policy;

/// The policy at `path` (built-in when `None`), refused when `audit_logs_class` has no `days`.
///
/// # Errors
/// Every problem, each prefixed with the setting it concerns.
pub fn load(path: Option<&Path>, audit_logs_class: &str) -> Result<Policy, Vec<String>> {
    let policy = match path {
        None => Policy::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                vec![format!(
                    "RETENTION_POLICY: cannot read {}: {e}",
                    path.display()
                )]
            })?;
            Policy::parse(&text).map_err(|e| vec![format!("RETENTION_POLICY: {e}")])?
        }
    };
    // An undefined audit-log class would silently keep audit logs forever: refuse to start instead.
    if policy
        .classes
        .get(audit_logs_class)
        .is_none_or(|c| c.hold || c.days.is_none())
    {
        return Err(vec![
            "RETENTION_CLASS_AUDITLOGS: not a class with `days` in the retention policy".to_owned(),
        ]);
    }
    Ok(policy)
}
