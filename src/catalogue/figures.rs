//! Each figure about sessions, defined once: what a session counts as (recorded, unrecorded, failed
//! login), the coverage, when its review is due, reviewed on time and overdue, and the per-period
//! (or per-host) tally of them. The sessions list's `status` filter, the review queue's `DueAt` and
//! `overdue`, `review.overdue`, the page's timeline and the evidence pack all count through here;
//! docs/evidence.md ("Figures") states the same definitions in KQL terms for the workbook and rules.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::days::DayRow;
use super::session::outcome::LOGIN_FAILED;
use crate::dates::format_utc_millis;
use crate::names::named;
use crate::tables::Filter;
use crate::tables::filter::Op;

named! {
    /// What one session counts as: exactly one of the three.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Coverage {
        /// It got past the login and a recording's current match names it.
        Recorded = "recorded",
        /// It got past the login (or its outcome is not known) and no recording names it.
        Unrecorded = "unrecorded",
        /// Its outcome is a failed login, whatever else it has (nothing to record).
        FailedLogin = "failed-login",
    }
}

impl Coverage {
    /// The session's kind.
    pub fn of(s: &DayRow) -> Self {
        if s.outcome == LOGIN_FAILED {
            Self::FailedLogin
        } else if s.recorded {
            Self::Recorded
        } else {
            Self::Unrecorded
        }
    }
}

/// Recorded share of the sessions that got past the login, in percent (none: 100).
pub fn coverage_percent(recorded: u64, unrecorded: u64) -> f64 {
    let eligible = recorded + unrecorded;
    if eligible == 0 {
        100.0
    } else {
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let p = recorded as f64 * 100.0 / eligible as f64;
        p
    }
}

/// When the session's review is due: its end (its start while it is open) plus the deadline
/// (`REVIEW_DEADLINE_HOURS`).
pub fn due_at(s: &DayRow, deadline: Duration) -> OffsetDateTime {
    s.end.unwrap_or(s.start) + deadline
}

/// A review at `first` (the session's first: of it or of one of its recordings) is on time.
pub fn on_time(first: OffsetDateTime, due: OffsetDateTime) -> bool {
    first <= due
}

/// An unreviewed session due at `due` is overdue at `now`: its due time has passed.
pub fn overdue(due: OffsetDateTime, now: OffsetDateTime) -> bool {
    due < now
}

/// [`overdue`] as a table filter on a text property holding the due time (`format_utc_millis`).
pub fn overdue_filter(property: &str, now: OffsetDateTime) -> Filter {
    Filter::str(property, Op::Lt, format_utc_millis(now))
}

/// The session figures of a period (of one host, or of all of them).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Sessions that started in the period (every outcome, as `/api/sessions`).
    pub sessions: u64,
    /// [`Coverage::Recorded`] (`status=recorded`).
    pub recorded: u64,
    /// Of the recorded, those a recording names by tunnel id (`status=exact`).
    pub recorded_exact: u64,
    /// Of the recorded, those matched by time alone (`status=probable`): `recorded` is
    /// `recorded_exact` + `recorded_probable`.
    pub recorded_probable: u64,
    /// Of the recorded, those whose recording was overwritten outside the product
    /// (`status=replaced`).
    pub recording_replaced: u64,
    /// [`Coverage::Unrecorded`] (`status=unrecorded`).
    pub unrecorded: u64,
    /// [`Coverage::FailedLogin`] (`status=failed-login`).
    pub failed_logins: u64,
    /// Sessions with a review (of the session or one of its recordings).
    pub reviewed: u64,
    /// Of them, first reviewed by the time their review was due ([`due_at`], [`on_time`]).
    pub reviewed_on_time: u64,
}

impl Tally {
    /// Counts session `s`, first reviewed at `first` (`None`: not reviewed), under `deadline`.
    pub fn add(&mut self, s: &DayRow, first: Option<OffsetDateTime>, deadline: Duration) {
        self.sessions += 1;
        match Coverage::of(s) {
            Coverage::Recorded => {
                self.recorded += 1;
                if s.recorded_by == "probable" {
                    self.recorded_probable += 1;
                } else {
                    self.recorded_exact += 1;
                }
                self.recording_replaced += u64::from(s.replaced);
            }
            Coverage::Unrecorded => self.unrecorded += 1,
            Coverage::FailedLogin => self.failed_logins += 1,
        }
        if let Some(at) = first {
            self.reviewed += 1;
            self.reviewed_on_time += u64::from(on_time(at, due_at(s, deadline)));
        }
    }

    /// [`coverage_percent`] of these sessions.
    pub fn coverage_percent(&self) -> f64 {
        coverage_percent(self.recorded, self.unrecorded)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// Recorded sessions count exact and probable apart (their sum is `recorded`), and the
    /// replaced among them.
    #[test]
    fn recorded_sessions_count_exact_and_probable_apart() {
        let mut t = Tally::default();
        for (by, replaced) in [("exact", false), ("probable", false), ("probable", true)] {
            let mut s = session("connected", true, None);
            s.recorded_by = by.into();
            s.replaced = replaced;
            t.add(&s, None, Duration::hours(24));
        }
        let mut tie = session("connected", false, None);
        tie.recorded_by = "ambiguous".into();
        t.add(&tie, None, Duration::hours(24));
        assert_eq!(
            (
                t.recorded,
                t.recorded_exact,
                t.recorded_probable,
                t.recording_replaced,
                t.unrecorded
            ),
            (3, 1, 2, 1, 1)
        );
    }

    fn session(outcome: &str, recorded: bool, end: Option<OffsetDateTime>) -> DayRow {
        let s = crate::catalogue::session::SessionRecord {
            tunnel_id: "t".into(),
            session_start: Some(datetime!(2025-03-10 10:00 UTC)),
            session_end: end,
            outcome: outcome.into(),
            ..Default::default()
        };
        let mut w = DayRow::of(&s).expect("a time");
        w.recorded = recorded;
        w
    }

    #[test]
    fn a_failed_login_is_a_failed_login_whatever_else_it_has_and_never_unrecorded() {
        let cases = [
            ("connected", true, Coverage::Recorded),
            ("connected", false, Coverage::Unrecorded),
            ("other", false, Coverage::Unrecorded),
            ("", false, Coverage::Unrecorded),
            ("login-failed", false, Coverage::FailedLogin),
            ("login-failed", true, Coverage::FailedLogin),
        ];
        let mut t = Tally::default();
        for (outcome, recorded, kind) in cases {
            let s = session(outcome, recorded, None);
            assert_eq!(Coverage::of(&s), kind, "{outcome} {recorded}");
            t.add(&s, None, Duration::hours(24));
        }
        assert_eq!(
            (t.sessions, t.recorded, t.unrecorded, t.failed_logins),
            (6, 1, 3, 2)
        );
        assert_eq!(t.recorded + t.unrecorded + t.failed_logins, t.sessions);
        // Coverage over the sessions that got past the login: 1 of 4.
        assert!((t.coverage_percent() - 25.0).abs() < 1e-9);
        assert!((Tally::default().coverage_percent() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn reviews_are_due_from_the_sessions_end_and_on_time_up_to_that_instant() {
        let deadline = Duration::hours(24);
        let end = datetime!(2025-03-12 10:00 UTC);
        // Started two days before it ended: due a day after the end, not after the start.
        let long = session("connected", true, Some(end));
        assert_eq!(due_at(&long, deadline), datetime!(2025-03-13 10:00 UTC));
        let open = session("connected", false, None);
        assert_eq!(due_at(&open, deadline), datetime!(2025-03-11 10:00 UTC));

        let due = due_at(&long, deadline);
        assert!(on_time(due, due) && !on_time(due + Duration::milliseconds(1), due));
        assert!(!overdue(due, due) && overdue(due, due + Duration::milliseconds(1)));

        let mut t = Tally::default();
        t.add(&long, Some(datetime!(2025-03-13 09:00 UTC)), deadline);
        t.add(&long, Some(datetime!(2025-03-13 11:00 UTC)), deadline);
        t.add(&long, None, deadline);
        assert_eq!((t.reviewed, t.reviewed_on_time), (2, 1));
    }

    #[test]
    fn the_overdue_filter_keeps_exactly_the_rows_the_predicate_calls_overdue() {
        let now = datetime!(2025-03-13 10:00 UTC);
        let f = overdue_filter("DueAt", now);
        for ms in [-1001, -1, 0, 1, 1000] {
            let due = now + Duration::milliseconds(ms);
            let row = serde_json::json!({"DueAt": format_utc_millis(due)});
            let row = row.as_object().cloned().expect("object");
            assert_eq!(
                crate::testkit::tables::filter::matches(&f, &row),
                overdue(due, now),
                "{ms} ms"
            );
        }
    }
}
