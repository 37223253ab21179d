//! Risk of one session, pure: the signals that make a human look at it, each a declared reason
//! with its weight ([`crate::spine::reasons`]); the score is their sum and the reasons are shown
//! with the queue item.

use time::{Duration, OffsetDateTime};

use crate::catalogue::days::DayRow;
use crate::catalogue::session::outcome::CONNECTED;
use crate::reviews::settings::ReviewSettings;
use crate::spine::Kind;
use crate::spine::kinds::{RECORDING_REPLACED, SESSION_UNAUTHORIZED, SESSION_UNRECORDED};
use crate::spine::reasons::{self, Reason};

/// How far back a user's earlier session to the same VM makes a session "not the first".
pub const FIRST_WITHIN: Duration = Duration::days(30);

/// Signals that need more than the session itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The findings beyond its own row that concern it: a failed-login burst it is part of (or
    /// right after), its host's open estate finding, a door onto its VM open during it.
    pub raised: Vec<&'static Kind>,
    /// First of its user to its VM in 30 days.
    pub first_to_vm: bool,
}

/// The user a session is counted for: its VM user name, else its portal e-mail.
pub fn user_of(s: &DayRow) -> &str {
    if s.user_name.is_empty() {
        &s.user_email
    } else {
        &s.user_name
    }
}

/// The score and the reasons, strongest first (empty: nothing to review): the reasons its
/// findings' kinds declare (those its own row shows, then `ctx`'s), and the queue's own.
pub fn assess(
    s: &DayRow,
    ctx: &Context,
    settings: &ReviewSettings,
    now: OffsetDateTime,
) -> (u32, Vec<Reason>) {
    let connected = s.outcome == CONNECTED;
    let unrecorded = connected && s.end.is_some() && !s.recorded && s.pending.is_none();
    let ambiguous = s.recorded_by == "ambiguous";
    let own = [
        (s.recorded && s.replaced, &RECORDING_REPLACED),
        (
            connected && s.authorization == "none",
            &SESSION_UNAUTHORIZED,
        ),
        (unrecorded && !ambiguous, &SESSION_UNRECORDED),
    ];
    let long = s.end.unwrap_or(now) - s.start >= settings.long_session;
    let queue = [
        (unrecorded && ambiguous, reasons::RECORDING_AMBIGUOUS),
        (
            connected && settings.working_hours.outside(s.start),
            reasons::OUTSIDE_WORKING_HOURS,
        ),
        (connected && ctx.first_to_vm, reasons::FIRST_TO_VM),
        (connected && long, reasons::LONG_SESSION),
    ];
    let raised = own.into_iter().filter(|(on, _)| *on).map(|(_, k)| k);
    let mut reasons: Vec<Reason> = (raised.chain(ctx.raised.iter().copied()))
        .filter_map(|k| k.review)
        .chain(queue.into_iter().filter(|(on, _)| *on).map(|(_, r)| r))
        .collect();
    reasons.sort_by_key(|r| r.rank());
    reasons.dedup();
    (reasons.iter().map(|r| r.weight).sum(), reasons)
}

/// True when none of `earlier` (start times of the same user to the same VM) lies in the 30 days
/// before `start`.
pub fn first_to_vm(start: OffsetDateTime, earlier: &[OffsetDateTime]) -> bool {
    !earlier
        .iter()
        .any(|t| *t < start && *t >= start - FIRST_WITHIN)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// A replaced recording ranks its (recorded) session with `recording-replaced`; an unrecorded
    /// session a time match tied on is `recording-ambiguous`, not `unrecorded`.
    #[test]
    fn replaced_and_ambiguous_recordings_are_their_own_reasons() {
        let mut s = crate::catalogue::session::SessionRecord::new("t");
        s.session_start = Some(datetime!(2025-03-14 10:00 UTC));
        s.session_end = Some(datetime!(2025-03-14 10:05 UTC));
        s.outcome = CONNECTED.into();
        let row = DayRow::of(&s).expect("row");
        let settings = ReviewSettings::default();
        let now = datetime!(2025-03-14 12:00 UTC);
        let reasons = |r: &DayRow| assess(r, &Context::default(), &settings, now).1;
        assert_eq!(reasons(&row), [reasons::UNRECORDED]);
        let mut tie = row.clone();
        tie.recorded_by = "ambiguous".into();
        assert_eq!(reasons(&tie), [reasons::RECORDING_AMBIGUOUS]);
        let mut replaced = row;
        replaced.recorded = true;
        replaced.recorded_by = "exact".into();
        replaced.replaced = true;
        let (score, why) = assess(&replaced, &Context::default(), &settings, now);
        assert_eq!((score, why), (40, vec![reasons::RECORDING_REPLACED]));
        // Its verdict `none` (every source read, none covers it) ranks it high too; `unknown` not.
        replaced.authorization = "none".into();
        let (score, why) = assess(&replaced, &Context::default(), &settings, now);
        assert_eq!(
            (score, why),
            (80, vec![reasons::RECORDING_REPLACED, reasons::UNAUTHORIZED])
        );
        replaced.authorization = "unknown".into();
        assert_eq!(reasons(&replaced), [reasons::RECORDING_REPLACED]);
    }
}
