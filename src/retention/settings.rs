//! Retention app settings (`RETENTION_*`, `HOLD_RELEASE_TWO_PERSON`, `HOLD_RELEASE_REQUEST_HOURS`),
//! read with [`crate::config`].

use crate::setting::Reader;

/// Default bound on deletions per sweep run: about 7 minutes, inside the 10-minute timeout.
pub const DEFAULT_MAX_DELETES: usize = 5000;
/// Default life of an open two-person release request, in hours.
pub const DEFAULT_RELEASE_REQUEST_HOURS: i64 = 24;
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
    /// Let a policy change shorten existing blobs' retain-until (each logged and recorded).
    pub allow_shortening: bool,
    /// A legal-hold release takes two principals: one requests, a different one approves.
    pub hold_release_two_person: bool,
    /// An open two-person release request expires this long after it was made.
    pub hold_release_request_ttl: time::Duration,
}

/// The settings read from an environment that sets none (each default is stated once, where it is
/// read).
impl Default for RetentionSettings {
    fn default() -> Self {
        Self::from_reader(&mut Reader::new(&|_| None))
    }
}

impl RetentionSettings {
    /// Reads the settings through `r`, which records each problem by name.
    pub fn from_reader(r: &mut Reader<'_>) -> Self {
        let name = "RETENTION_CLASS_AUDITLOGS";
        let audit_logs_class = match r.get(name) {
            Some(v) if crate::catalogue::policy::is_tag_safe(&v) => v,
            Some(_) => {
                r.problem(name, "not a valid class name");
                DEFAULT_AUDITLOGS_CLASS.to_owned()
            }
            None => DEFAULT_AUDITLOGS_CLASS.to_owned(),
        };
        Self {
            max_deletes_per_run: r.number(
                "RETENTION_MAX_DELETES_PER_RUN",
                DEFAULT_MAX_DELETES,
                1..=usize::MAX,
            ),
            dry_run: r.flag("RETENTION_DRY_RUN", false),
            audit_logs_class,
            allow_shortening: r.flag("RETENTION_ALLOW_SHORTENING", false),
            hold_release_two_person: r.flag("HOLD_RELEASE_TWO_PERSON", false),
            hold_release_request_ttl: time::Duration::hours(r.number(
                "HOLD_RELEASE_REQUEST_HOURS",
                DEFAULT_RELEASE_REQUEST_HOURS,
                1..=720,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> (RetentionSettings, Vec<String>) {
        crate::setting::read_pairs(pairs, RetentionSettings::from_reader)
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(parse(&[]), (RetentionSettings::default(), vec![]));
        let d = RetentionSettings::default();
        assert_eq!(
            (d.max_deletes_per_run, d.audit_logs_class.as_str()),
            (5000, "audit-1y")
        );
        assert!(!d.dry_run && !d.allow_shortening && !d.hold_release_two_person);
        assert_eq!(d.hold_release_request_ttl, time::Duration::hours(24));
        let (s, e) = parse(&[
            ("RETENTION_MAX_DELETES_PER_RUN", "10"),
            ("RETENTION_DRY_RUN", "TRUE"),
            ("RETENTION_CLASS_AUDITLOGS", "pci-1y"),
            ("RETENTION_ALLOW_SHORTENING", "1"),
            ("HOLD_RELEASE_TWO_PERSON", "true"),
            ("HOLD_RELEASE_REQUEST_HOURS", "4"),
        ]);
        assert!(e.is_empty());
        assert_eq!(s.hold_release_request_ttl, time::Duration::hours(4));
        assert!(s.allow_shortening && s.hold_release_two_person);
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
            ("HOLD_RELEASE_TWO_PERSON", "both"),
            ("HOLD_RELEASE_REQUEST_HOURS", "0"),
        ]);
        assert_eq!(e.len(), 6, "{e:?}");
        assert!(
            e.iter()
                .all(|m| m.starts_with("RETENTION_") || m.starts_with("HOLD_RELEASE_"))
        );
    }
}
