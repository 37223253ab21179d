//! Retention app settings: `RETENTION_MAX_DELETES_PER_RUN`, `RETENTION_DRY_RUN`,
//! `RETENTION_CLASS_AUDITLOGS`, `RETENTION_ALLOW_SHORTENING`. Parsed once at start-up with the rest of [`crate::config`].

/// Default bound on deletions per sweep run: at ~8 storage calls per deletion and ~10 ms a call this
/// is about 7 minutes, inside `host.json`'s 10-minute function timeout; the next run continues.
pub const DEFAULT_MAX_DELETES: usize = 5000;
/// Default class of audit-log blobs.
pub const DEFAULT_AUDITLOGS_CLASS: &str = "audit-1y";

/// Sweep settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// At most this many deletions (or would-be deletions in a dry run) per run.
    pub max_deletes_per_run: usize,
    /// Report only; delete nothing.
    pub dry_run: bool,
    /// Retention class of audit-log blobs; must exist in the policy.
    pub audit_logs_class: String,
    /// Let a policy change shorten existing blobs' retain-until (each one logged and recorded);
    /// off by default: a shorter policy then applies to new blobs only.
    pub allow_shortening: bool,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            max_deletes_per_run: DEFAULT_MAX_DELETES,
            dry_run: false,
            audit_logs_class: DEFAULT_AUDITLOGS_CLASS.to_owned(),
            allow_shortening: false,
        }
    }
}

impl RetentionSettings {
    /// Reads the settings through `get` (trimmed, empty = unset); problems are appended to `errors`.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> Self {
        let mut s = Self::default();
        if let Some(v) = get("RETENTION_MAX_DELETES_PER_RUN") {
            match v.parse::<usize>() {
                Ok(n) if n > 0 => s.max_deletes_per_run = n,
                _ => errors.push("RETENTION_MAX_DELETES_PER_RUN: a positive integer".to_owned()),
            }
        }
        for (name, flag) in [
            ("RETENTION_DRY_RUN", &mut s.dry_run),
            ("RETENTION_ALLOW_SHORTENING", &mut s.allow_shortening),
        ] {
            match get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
                Some("true" | "1") => *flag = true,
                Some("false" | "0") | None => {}
                Some(_) => errors.push(format!("{name}: true or false")),
            }
        }
        if let Some(v) = get("RETENTION_CLASS_AUDITLOGS") {
            if crate::retention::policy::is_tag_safe(&v) {
                s.audit_logs_class = v;
            } else {
                errors.push("RETENTION_CLASS_AUDITLOGS: not a valid class name".to_owned());
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> (RetentionSettings, Vec<String>) {
        let mut errors = Vec::new();
        let s = RetentionSettings::from_lookup(
            &|k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            },
            &mut errors,
        );
        (s, errors)
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(parse(&[]), (RetentionSettings::default(), vec![]));
        let (s, e) = parse(&[
            ("RETENTION_MAX_DELETES_PER_RUN", "10"),
            ("RETENTION_DRY_RUN", "TRUE"),
            ("RETENTION_CLASS_AUDITLOGS", "pci-1y"),
            ("RETENTION_ALLOW_SHORTENING", "1"),
        ]);
        assert!(e.is_empty());
        assert!(s.allow_shortening);
        assert_eq!(
            (
                s.max_deletes_per_run,
                s.dry_run,
                s.audit_logs_class.as_str()
            ),
            (10, true, "pci-1y")
        );
    }

    #[test]
    fn bad_values_are_named() {
        let (_, e) = parse(&[
            ("RETENTION_MAX_DELETES_PER_RUN", "0"),
            ("RETENTION_DRY_RUN", "yes"),
            ("RETENTION_CLASS_AUDITLOGS", "a@b"),
            ("RETENTION_ALLOW_SHORTENING", "maybe"),
        ]);
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e.iter().all(|m| m.starts_with("RETENTION_")));
    }
}
