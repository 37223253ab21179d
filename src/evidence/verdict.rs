//! A session's authorization verdict as the pack counts it: which sessions count (past the
//! login), their verdict word (`undecided` while none) and which have no covering verdict. The
//! "Authorization" section's figures and the pack's lists read them alike.

use crate::catalogue::days::DayRow;
use crate::catalogue::session::outcome::CONNECTED;

/// A session's verdict word: `undecided` while it has none.
pub const UNDECIDED: &str = "undecided";

/// Whether `w` counts at all: only a session past the login gets a verdict.
pub fn counted(w: &DayRow) -> bool {
    w.outcome == CONNECTED
}

/// `w`'s verdict word.
pub fn verdict(w: &DayRow) -> &str {
    if w.authorization.is_empty() {
        UNDECIDED
    } else {
        &w.authorization
    }
}

/// Whether counted session `w` has no covering verdict (`none`, `unknown`, undecided).
pub fn without(w: &DayRow) -> bool {
    matches!(verdict(w), "none" | "unknown" | UNDECIDED)
}
