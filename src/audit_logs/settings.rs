//! Settings of the audit-log functions, read from the environment (names are listed in
//! `config::SETTINGS`). Invalid values fall back to the default with a warning rather than stopping
//! the app: every value has a safe default and none is a secret.

use time::Duration;

/// Tunables of tailing, joining and detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// `AUDIT_TAIL_MAX_BLOBS` (50): cursors advanced per tick.
    pub tail_max_blobs: usize,
    /// `AUDIT_TAIL_MAX_BYTES` (64 MiB): bytes read per tick, all blobs together.
    pub tail_max_bytes: u64,
    /// `AUDIT_TAIL_CHUNK_BYTES` (4 MiB): size of one ranged read (bounds memory).
    pub tail_chunk_bytes: u64,
    /// `AUDIT_MAX_LINE_BYTES` (1 MiB): a line longer than this without a newline is quarantined and skipped.
    pub max_line_bytes: u64,
    /// `AUDIT_TAIL_WINDOW_HOURS` (48): a cursor is retired this long after its hour.
    pub tail_window: Duration,
    /// `UNRECORDED_GRACE_MINUTES` (30): wait after the session's last audit record before `session.unrecorded`.
    pub unrecorded_grace: Duration,
    /// `STALLED_AFTER_HOURS` (6): sessions but no recording for this long → `recordings.stalled`.
    pub stalled_after: Duration,
    /// `FAILED_LOGIN_THRESHOLD` (5): failed logins per (user or client IP, VM) per window.
    pub failed_login_threshold: usize,
    /// `FAILED_LOGIN_WINDOW_MINUTES` (15): tumbling window of the failed-login count.
    pub failed_login_window: Duration,
    /// `RECORDING_UPLOAD_LAG_MINUTES` (30): recordings are created within [start, end + lag].
    pub upload_lag: Duration,
    /// `OPEN_SESSION_MAX_HOURS` (12): window end for sessions whose end is not (yet) known.
    pub open_session_max: Duration,
    /// `RECONCILE_WINDOW_HOURS` (48): how far back Reconcile lists blobs.
    pub reconcile_window: Duration,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            tail_max_blobs: 50,
            tail_max_bytes: 64 << 20,
            tail_chunk_bytes: 4 << 20,
            max_line_bytes: 1 << 20,
            tail_window: Duration::hours(48),
            unrecorded_grace: Duration::minutes(30),
            stalled_after: Duration::hours(6),
            failed_login_threshold: 5,
            failed_login_window: Duration::minutes(15),
            upload_lag: Duration::minutes(30),
            open_session_max: Duration::hours(12),
            reconcile_window: Duration::hours(48),
        }
    }
}

impl AuditSettings {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Reads settings through `env`; unset or invalid values keep their defaults.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let num = |k: &str, default: u64| -> u64 {
            match env(k).map(|v| v.trim().parse::<u64>()) {
                None => default,
                Some(Ok(v)) if v > 0 => v,
                Some(_) => {
                    tracing::warn!(
                        setting = k,
                        "invalid value (expected a positive integer); using the default"
                    );
                    default
                }
            }
        };
        let secs = |d: Duration| u64::try_from(d.whole_seconds()).unwrap_or(0);
        let dur = |k: &str, unit: i64, default: Duration| {
            let v = num(k, secs(default) / unit.unsigned_abs());
            Duration::seconds(
                i64::try_from(v)
                    .unwrap_or(i64::MAX / unit)
                    .saturating_mul(unit),
            )
        };
        let size =
            |k: &str, default: usize| usize::try_from(num(k, default as u64)).unwrap_or(default);
        Self {
            tail_max_blobs: size("AUDIT_TAIL_MAX_BLOBS", d.tail_max_blobs),
            tail_max_bytes: num("AUDIT_TAIL_MAX_BYTES", d.tail_max_bytes),
            tail_chunk_bytes: num("AUDIT_TAIL_CHUNK_BYTES", d.tail_chunk_bytes),
            max_line_bytes: num("AUDIT_MAX_LINE_BYTES", d.max_line_bytes),
            tail_window: dur("AUDIT_TAIL_WINDOW_HOURS", 3600, d.tail_window),
            unrecorded_grace: dur("UNRECORDED_GRACE_MINUTES", 60, d.unrecorded_grace),
            stalled_after: dur("STALLED_AFTER_HOURS", 3600, d.stalled_after),
            failed_login_threshold: size("FAILED_LOGIN_THRESHOLD", d.failed_login_threshold),
            failed_login_window: dur("FAILED_LOGIN_WINDOW_MINUTES", 60, d.failed_login_window),
            upload_lag: dur("RECORDING_UPLOAD_LAG_MINUTES", 60, d.upload_lag),
            open_session_max: dur("OPEN_SESSION_MAX_HOURS", 3600, d.open_session_max),
            reconcile_window: dur("RECONCILE_WINDOW_HOURS", 3600, d.reconcile_window),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn defaults_overrides_and_invalid_values() {
        let map: HashMap<&str, &str> = HashMap::from([
            ("AUDIT_TAIL_WINDOW_HOURS", "24"),
            ("FAILED_LOGIN_THRESHOLD", "0"),
            ("UNRECORDED_GRACE_MINUTES", "x"),
        ]);
        let s = AuditSettings::from_lookup(&|k| map.get(k).map(|v| (*v).to_owned()));
        assert_eq!(s.tail_window, Duration::hours(24));
        assert_eq!(s.failed_login_threshold, 5, "0 is invalid");
        assert_eq!(s.unrecorded_grace, Duration::minutes(30));
        assert_eq!(
            AuditSettings::from_lookup(&|_| None),
            AuditSettings::default()
        );
    }
}
