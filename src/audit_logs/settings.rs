//! Settings of the audit-log functions. An invalid value stops start-up: a typo silently replaced
//! by a default would change when alerts fire without anyone noticing.

use time::Duration;

use crate::setting::Reader;

/// Tunables of tailing, joining and detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// `AUDIT_TAIL_MAX_BYTES` (64 MiB): bytes read per tick, all blobs together.
    pub tail_max_bytes: u64,
    /// `AUDIT_TAIL_MAX_RECORDS` (20,000): records read per tick, all blobs together (checked after
    /// each ranged read, so a tick may pass it by one read's records).
    pub tail_max_records: u64,
    /// `AUDIT_TAIL_CHUNK_BYTES` (4 MiB): size of one ranged read (bounds memory).
    pub tail_chunk_bytes: u64,
    /// `AUDIT_TAIL_BUDGET_SECONDS` (120): time one tick may work (reading, then the join); the rest
    /// continues next tick from the progress saved so far.
    pub tail_budget: Duration,
    /// `AUDIT_MAX_LINE_BYTES` (1 MiB): a line longer than this without a newline is quarantined and skipped.
    pub max_line_bytes: u64,
    /// `AUDIT_TAIL_WINDOW_HOURS` (48): a cursor is retired this long after its hour.
    pub tail_look_back: Duration,
    /// `UNRECORDED_GRACE_MINUTES` (30): wait after the session's last audit record before `session.unrecorded`.
    pub unrecorded_grace: Duration,
    /// `SESSION_MAX_HOURS` (24): a successful session whose end record never arrived is judged
    /// this long after its start (at least `OPEN_SESSION_MAX_HOURS`): unrecorded, it is alerted
    /// `session.unrecorded` with `ended: unknown`.
    pub session_max: Duration,
    /// `STALLED_AFTER_HOURS` (6): sessions but no recording for this long → `recordings.stalled`.
    pub stalled_after: Duration,
    /// `FAILED_LOGIN_THRESHOLD` (5): failed logins per user or client IP (on any VMs) per bucket.
    pub failed_login_threshold: usize,
    /// `FAILED_LOGIN_WINDOW_MINUTES` (15): the tumbling bucket of the failed-login count.
    pub failed_login_bucket: Duration,
    /// `RECORDING_UPLOAD_LAG_MINUTES` (30): recordings are created within [start, end + lag].
    pub upload_lag: Duration,
    /// `RECORDING_MIN_BYTES` (4096): a blob shorter than this vouches for no session (its match is
    /// `suspect`): a session recording of any length is a video far larger, a planted note is not.
    pub recording_min_bytes: u64,
    /// `RECORDING_VOUCH_LAG_HOURS` (24): a blob vouches for a session only when the service created
    /// it (`x-ms-creation-time`) within [start - 2 min, end + this] (its match is `suspect`
    /// otherwise): Bastion uploads a recording when its session closes, a blob planted later
    /// naming the session is created after.
    pub vouch_lag: Duration,
    /// `OPEN_SESSION_MAX_HOURS` (12): the join window's end for sessions whose end is not (yet) known.
    pub open_session_max: Duration,
    /// `RECORDING_SESSION_WAIT_MINUTES` (120): how long after its creation a recording that names a
    /// GUID waits for that session's audit records before it is matched by time instead.
    pub session_wait: Duration,
    /// `RECONCILE_WINDOW_HOURS` (48): how far back Reconcile lists blobs.
    pub reconcile_look_back: Duration,
}

/// The settings read from an environment that sets none (each default is stated once, where it is
/// read).
impl Default for AuditSettings {
    fn default() -> Self {
        Self::from_reader(&mut Reader::new(&|_| None))
    }
}

impl AuditSettings {
    /// Reads the settings; an invalid value is a start-up problem named in `r`, never a silent default.
    pub fn from_reader(r: &mut Reader<'_>) -> Self {
        // In the unit each setting names; the upper bounds only catch typos.
        let hours = |r: &mut Reader<'_>, k: &str, days: i64, d: i64| {
            Duration::hours(r.number(k, d, 1..=24 * days))
        };
        let minutes =
            |r: &mut Reader<'_>, k: &str, d: i64| Duration::minutes(r.number(k, d, 1..=7 * 1440));
        Self {
            tail_max_bytes: r.number("AUDIT_TAIL_MAX_BYTES", 64 << 20, 1..=1 << 40),
            tail_max_records: r.number("AUDIT_TAIL_MAX_RECORDS", 20_000, 1..=100_000_000),
            tail_chunk_bytes: r.number("AUDIT_TAIL_CHUNK_BYTES", 4 << 20, 1..=256 << 20),
            // At most 4 minutes: the cursor lease (twice the budget) must end inside the 10-minute
            // function timeout's margin, and at least 10 s so one storage round trip always fits.
            tail_budget: Duration::seconds(r.number("AUDIT_TAIL_BUDGET_SECONDS", 120, 10..=240)),
            max_line_bytes: r.number("AUDIT_MAX_LINE_BYTES", 1 << 20, 1..=256 << 20),
            tail_look_back: hours(r, "AUDIT_TAIL_WINDOW_HOURS", 90, 48),
            unrecorded_grace: minutes(r, "UNRECORDED_GRACE_MINUTES", 30),
            session_max: hours(r, "SESSION_MAX_HOURS", 90, 24),
            stalled_after: hours(r, "STALLED_AFTER_HOURS", 90, 6),
            failed_login_threshold: r.number("FAILED_LOGIN_THRESHOLD", 5, 1..=100_000),
            failed_login_bucket: minutes(r, "FAILED_LOGIN_WINDOW_MINUTES", 15),
            upload_lag: minutes(r, "RECORDING_UPLOAD_LAG_MINUTES", 30),
            recording_min_bytes: r.number("RECORDING_MIN_BYTES", 4096, 0..=1 << 30),
            vouch_lag: hours(r, "RECORDING_VOUCH_LAG_HOURS", 90, 24),
            open_session_max: hours(r, "OPEN_SESSION_MAX_HOURS", 30, 12),
            session_wait: minutes(r, "RECORDING_SESSION_WAIT_MINUTES", 120),
            reconcile_look_back: hours(r, "RECONCILE_WINDOW_HOURS", 90, 48),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> (AuditSettings, Vec<String>) {
        crate::setting::read_pairs(pairs, AuditSettings::from_reader)
    }

    #[test]
    fn defaults_overrides_and_invalid_values() {
        let (s, errors) = read(&[
            ("AUDIT_TAIL_WINDOW_HOURS", "24"),
            ("FAILED_LOGIN_THRESHOLD", "0"),
            ("UNRECORDED_GRACE_MINUTES", "x"),
            ("AUDIT_TAIL_MAX_RECORDS", "abc"),
        ]);
        assert_eq!(s.tail_look_back, Duration::hours(24));
        assert_eq!(
            errors,
            [
                "AUDIT_TAIL_MAX_RECORDS: expected a whole number from 1 to 100000000",
                "UNRECORDED_GRACE_MINUTES: expected a whole number from 1 to 10080",
                "FAILED_LOGIN_THRESHOLD: expected a whole number from 1 to 100000",
            ]
        );
        assert_eq!(read(&[]), (AuditSettings::default(), Vec::new()));
    }
}
