//! Risk of one session, pure: the signals that make a human look at it, each with a weight; the
//! score is their sum and the reasons are shown with the queue item.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use crate::catalogue::days::DayRow;
use crate::catalogue::session::outcome::{CONNECTED, LOGIN_FAILED};
use crate::reviews::settings::ReviewSettings;

/// How far back a user's earlier session to the same VM makes a session "not the first".
pub const FIRST_WITHIN: Duration = Duration::days(30);

/// Why a session needs a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// At least the threshold of failed logins by its user or from its address within the window
    /// before it (or it is one of them).
    FailedLoginBurst,
    /// A recording vouching for it was overwritten outside the product.
    RecordingReplaced,
    /// Every authorization source was read and none covers it (its verdict is `none`).
    Unauthorized,
    /// Connected, ended, and no recording names it.
    Unrecorded,
    /// Connected, ended, unrecorded, and a recording matched by time alone tied between it and
    /// another session (it vouches for none).
    RecordingAmbiguous,
    /// Its VM had another way in (a door beside Bastion) open during the session.
    OtherDoor,
    /// Its host has an open estate finding.
    EstateFinding,
    /// Started outside `REVIEW_WORKING_HOURS`.
    OutsideHours,
    /// The user's first session to this VM in 30 days.
    FirstToVm,
    /// At least `REVIEW_LONG_SESSION_MINUTES` long (or still open that long).
    Long,
}

impl Reason {
    /// Weight in the score.
    pub fn weight(self) -> u32 {
        match self {
            Self::FailedLoginBurst | Self::RecordingReplaced | Self::Unauthorized => 40,
            Self::Unrecorded | Self::RecordingAmbiguous => 30,
            Self::OtherDoor => 30,
            Self::EstateFinding => 25,
            Self::OutsideHours => 20,
            Self::FirstToVm => 15,
            Self::Long => 10,
        }
    }

    /// Name in documents and table rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailedLoginBurst => "failed-login-burst",
            Self::RecordingReplaced => "recording-replaced",
            Self::Unauthorized => "unauthorized",
            Self::Unrecorded => "unrecorded",
            Self::RecordingAmbiguous => "recording-ambiguous",
            Self::OtherDoor => "other-door-open",
            Self::EstateFinding => "open-estate-finding",
            Self::OutsideHours => "outside-working-hours",
            Self::FirstToVm => "first-to-vm-in-30-days",
            Self::Long => "long-session",
        }
    }
}

/// Signals that need more than the session itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// Part of, or right after, a failed-login burst.
    pub burst: bool,
    /// First of its user to its VM in 30 days.
    pub first_to_vm: bool,
    /// Its host has an open estate finding.
    pub estate: bool,
    /// Its VM had a door beside Bastion open during it.
    pub other_door: bool,
}

/// The user a session is counted for: its VM user name, else its portal e-mail.
pub fn user_of(s: &DayRow) -> &str {
    if s.user_name.is_empty() {
        &s.user_email
    } else {
        &s.user_name
    }
}

/// The score and the reasons, strongest first (empty: nothing to review).
pub fn assess(
    s: &DayRow,
    ctx: Context,
    settings: &ReviewSettings,
    now: OffsetDateTime,
) -> (u32, Vec<Reason>) {
    let connected = s.outcome == CONNECTED;
    let mut reasons = Vec::new();
    if ctx.burst {
        reasons.push(Reason::FailedLoginBurst);
    }
    if s.recorded && s.replaced {
        reasons.push(Reason::RecordingReplaced);
    }
    if connected && s.authorization == "none" {
        reasons.push(Reason::Unauthorized);
    }
    if connected && s.end.is_some() && !s.recorded && s.pending.is_none() {
        reasons.push(if s.recorded_by == "ambiguous" {
            Reason::RecordingAmbiguous
        } else {
            Reason::Unrecorded
        });
    }
    if ctx.other_door {
        reasons.push(Reason::OtherDoor);
    }
    if ctx.estate {
        reasons.push(Reason::EstateFinding);
    }
    if connected && settings.working_hours.outside(s.start) {
        reasons.push(Reason::OutsideHours);
    }
    if connected && ctx.first_to_vm {
        reasons.push(Reason::FirstToVm);
    }
    if connected && s.end.unwrap_or(now) - s.start >= settings.long_session {
        reasons.push(Reason::Long);
    }
    (reasons.iter().map(|r| r.weight()).sum(), reasons)
}

/// The sessions (tunnel ids) in or right after a failed-login burst: at least `threshold` failed
/// logins by the same user, or from the same client address, within `window` up to its start.
pub fn in_bursts(sessions: &[DayRow], threshold: usize, window: Duration) -> Vec<String> {
    let mut failed: HashMap<(u8, String), Vec<OffsetDateTime>> = HashMap::new();
    for s in sessions.iter().filter(|s| s.outcome == LOGIN_FAILED) {
        for key in keys(s) {
            failed.entry(key).or_default().push(s.start);
        }
    }
    failed.values_mut().for_each(|v| v.sort());
    sessions
        .iter()
        .filter(|s| {
            keys(s).into_iter().any(|k| {
                failed.get(&k).is_some_and(|times| {
                    let lo = times.partition_point(|t| *t < s.start - window);
                    let hi = times.partition_point(|t| *t <= s.start);
                    hi - lo >= threshold
                })
            })
        })
        .map(|s| s.tunnel_id.clone())
        .collect()
}

/// What ties failed logins together: the user, the client address.
pub(super) fn keys(s: &DayRow) -> Vec<(u8, String)> {
    let mut k = Vec::new();
    if !user_of(s).is_empty() {
        k.push((0, user_of(s).to_lowercase()));
    }
    if !s.client_ip.is_empty() {
        k.push((1, s.client_ip.clone()));
    }
    k
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
        let reasons = |r: &DayRow| assess(r, Context::default(), &settings, now).1;
        assert_eq!(reasons(&row), [Reason::Unrecorded]);
        let mut tie = row.clone();
        tie.recorded_by = "ambiguous".into();
        assert_eq!(reasons(&tie), [Reason::RecordingAmbiguous]);
        let mut replaced = row;
        replaced.recorded = true;
        replaced.recorded_by = "exact".into();
        replaced.replaced = true;
        let (score, why) = assess(&replaced, Context::default(), &settings, now);
        assert_eq!((score, why), (40, vec![Reason::RecordingReplaced]));
        // Its verdict `none` (every source read, none covers it) ranks it high too; `unknown` not.
        replaced.authorization = "none".into();
        let (score, why) = assess(&replaced, Context::default(), &settings, now);
        assert_eq!(
            (score, why),
            (80, vec![Reason::RecordingReplaced, Reason::Unauthorized])
        );
        replaced.authorization = "unknown".into();
        assert_eq!(reasons(&replaced), [Reason::RecordingReplaced]);
    }
}
