//! The review queue's reasons: why a session needs a human, each with its weight in the session's
//! score and its place among the reasons shown. A kind whose finding puts its session in the queue
//! names its reason ([`super::Kind::review`]); the others the queue decides from the session
//! alone (its row, the settings, its user's earlier sessions).

/// One reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    /// Its name in the queue's items and rows.
    pub name: &'static str,
    /// Its weight in the score.
    pub weight: u32,
}

impl Reason {
    /// Its place among a session's reasons: its place in [`ALL`].
    pub fn rank(self) -> usize {
        ALL.iter().position(|r| *r == self).unwrap_or(ALL.len())
    }
}

const fn reason(name: &'static str, weight: u32) -> Reason {
    Reason { name, weight }
}

/// `login.failed.burst`: part of, or right after, a burst of failed logins.
pub const FAILED_LOGIN_BURST: Reason = reason("failed-login-burst", 40);
/// `recording.replaced`: a recording vouching for it was overwritten outside the product.
pub const RECORDING_REPLACED: Reason = reason("recording-replaced", 40);
/// `session.unauthorized`: every authorization source was read and none covers it.
pub const UNAUTHORIZED: Reason = reason("unauthorized", 40);
/// `session.unrecorded`: connected, ended, and no recording names it.
pub const UNRECORDED: Reason = reason("unrecorded", 30);
/// The queue's own: unrecorded, and a recording matched by time alone tied between it and
/// another session (it vouches for none).
pub const RECORDING_AMBIGUOUS: Reason = reason("recording-ambiguous", 30);
/// A `door:*` estate finding: its VM had another way in open during the session.
pub const OTHER_DOOR_OPEN: Reason = reason("other-door-open", 30);
/// An estate finding: its host has one open.
pub const OPEN_ESTATE_FINDING: Reason = reason("open-estate-finding", 25);
/// The queue's own: started outside `REVIEW_WORKING_HOURS`.
pub const OUTSIDE_WORKING_HOURS: Reason = reason("outside-working-hours", 20);
/// The queue's own: the user's first session to this VM in 30 days.
pub const FIRST_TO_VM: Reason = reason("first-to-vm-in-30-days", 15);
/// The queue's own: at least `REVIEW_LONG_SESSION_MINUTES` long (or still open that long).
pub const LONG_SESSION: Reason = reason("long-session", 10);

/// Every reason, in the order a session's reasons are shown.
pub const ALL: [Reason; 10] = [
    FAILED_LOGIN_BURST,
    RECORDING_REPLACED,
    UNAUTHORIZED,
    UNRECORDED,
    RECORDING_AMBIGUOUS,
    OTHER_DOOR_OPEN,
    OPEN_ESTATE_FINDING,
    OUTSIDE_WORKING_HOURS,
    FIRST_TO_VM,
    LONG_SESSION,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Each reason has its own name, the one a kind names is among them, and docs/reviews.md
    /// (its weight) and the page (its words) know each.
    #[test]
    fn each_reason_is_named_once_and_is_documented_with_its_weight_and_shown_in_words() {
        let docs = include_str!("../../docs/reviews.md");
        let page = include_str!("../api/ui/js/format.js");
        for (i, r) in ALL.iter().enumerate() {
            assert_eq!(
                ALL.iter().position(|o| o.name == r.name),
                Some(i),
                "{}",
                r.name
            );
            let row = format!("| `{}` | {} |", r.name, r.weight);
            assert!(docs.contains(&row), "docs/reviews.md: no {row}");
            let words = [format!("'{}': '", r.name), format!("  {}: '", r.name)];
            assert!(words.iter().any(|w| page.contains(w)), "{}", r.name);
        }
        for kind in super::super::kinds::all() {
            let declared = kind.review.is_none_or(|r| ALL.contains(&r));
            assert!(declared, "{} {}", kind.name, kind.form);
        }
    }
}
