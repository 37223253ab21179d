//! Loading the retention policy named by the configuration, with the start-up checks.

use super::Policy;
use crate::config::{Config, ConfigError};

/// The policy of `RETENTION_POLICY` (the built-in one when unset), refusing to start when
/// `RETENTION_CLASS_AUDITLOGS` is not a class with `days`.
///
/// # Errors
/// `ConfigError` naming the setting when the file is unreadable or invalid.
pub fn load(config: &Config) -> Result<Policy, ConfigError> {
    let policy = match &config.retention_policy {
        None => Policy::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(vec![format!(
                    "RETENTION_POLICY: cannot read {}: {e}",
                    path.display()
                )])
            })?;
            Policy::parse(&text).map_err(|e| ConfigError(vec![format!("RETENTION_POLICY: {e}")]))?
        }
    };
    // An undefined audit-log class would silently keep audit logs forever: refuse to start instead.
    if policy
        .classes
        .get(&config.retention.audit_logs_class)
        .is_none_or(|c| c.hold || c.days.is_none())
    {
        return Err(ConfigError(vec![
            "RETENTION_CLASS_AUDITLOGS: not a class with `days` in the retention policy".to_owned(),
        ]));
    }
    Ok(policy)
}
