//! The review settings, read once at start-up through the shared reader (a bad value is named,
//! never shown, in the one start-up error).

use time::Duration;

use super::hours::WorkingHours;
use crate::setting::Reader;

/// Queue and deadline settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewSettings {
    /// `REVIEW_WORKING_HOURS` (`Mon-Fri 08:00-18:00 UTC`): sessions starting outside are a signal.
    pub working_hours: WorkingHours,
    /// `REVIEW_DEADLINE_HOURS` (24): a session's review is due this long after it ended (started,
    /// while open): `catalogue::figures::due_at`.
    pub deadline: Duration,
    /// `REVIEW_LONG_SESSION_MINUTES` (240): sessions at least this long are a signal.
    pub long_session: Duration,
    /// `FAILED_LOGIN_THRESHOLD` / `FAILED_LOGIN_WINDOW_MINUTES` (shared with the burst detection):
    /// this many failed logins by one user or from one address within the window before a session.
    pub burst_threshold: usize,
    /// See [`Self::burst_threshold`].
    pub burst_bucket: Duration,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self::from_reader(&mut Reader::new(&|_| None), 5, Duration::minutes(15))
    }
}

impl ReviewSettings {
    /// Reads the settings; the burst threshold and window are the audit settings' values.
    pub fn from_reader(r: &mut Reader<'_>, burst_threshold: usize, burst_bucket: Duration) -> Self {
        let working_hours = match r.get("REVIEW_WORKING_HOURS") {
            None => WorkingHours::office_utc(),
            Some(v) => WorkingHours::parse(&v).unwrap_or_else(|| {
                r.problem("REVIEW_WORKING_HOURS", WorkingHours::EXPECTED);
                WorkingHours::office_utc()
            }),
        };
        Self {
            working_hours,
            deadline: Duration::hours(r.number("REVIEW_DEADLINE_HOURS", 24, 1..=24 * 90)),
            long_session: Duration::minutes(r.number(
                "REVIEW_LONG_SESSION_MINUTES",
                240,
                1..=7 * 24 * 60,
            )),
            burst_threshold,
            burst_bucket,
        }
    }

    /// A digest of the scoring settings: a change re-scores every queued session.
    pub fn digest(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.working_hours.as_str(),
            self.deadline.whole_minutes(),
            self.long_session.whole_minutes(),
            self.burst_threshold,
            self.burst_bucket.whole_minutes()
        )
    }
}
