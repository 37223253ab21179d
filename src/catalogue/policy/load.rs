//! The built-in retention policy, parsing one with its checks, and loading the one a setting
//! names.

use std::collections::BTreeMap;
use std::path::Path;

use super::model::{Class, DEFAULT_POLICY, Policy, is_tag_safe};

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

impl Policy {
    /// Parses and validates a policy.
    ///
    /// # Errors
    /// A message naming the problem (unknown class in a rule, class without days, bad TOML).
    pub fn parse(text: &str) -> Result<Self, String> {
        let p: Self = toml::from_str(text).map_err(|e| format!("retention policy: {e}"))?;
        p.validate()?;
        Ok(p)
    }

    /// The built-in default policy.
    pub fn builtin() -> Self {
        // A unit test parses the constant; the fallback avoids a panic.
        Self::parse(DEFAULT_POLICY).unwrap_or_else(|_| Self {
            default: "ops-30d".into(),
            classes: BTreeMap::from([(
                "ops-30d".into(),
                Class {
                    days: Some(30),
                    ..Class::default()
                },
            )]),
            rules: Vec::new(),
        })
    }

    fn validate(&self) -> Result<(), String> {
        let known = |c: &str| self.classes.contains_key(c);
        if !known(&self.default) {
            return Err(format!(
                "retention policy: default class `{}` is not defined",
                self.default
            ));
        }
        for (name, c) in &self.classes {
            if !is_tag_safe(name) {
                return Err(format!(
                    "retention policy: class name `{name}` is not a valid tag value"
                ));
            }
            if c.days.is_none() && !c.hold {
                return Err(format!(
                    "retention policy: class `{name}` needs `days` or `hold = true`"
                ));
            }
        }
        if let Some(r) = self.rules.iter().find(|r| !known(&r.class)) {
            return Err(format!(
                "retention policy: rule uses undefined class `{}`",
                r.class
            ));
        }
        Ok(())
    }
}
