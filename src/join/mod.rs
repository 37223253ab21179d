//! The recording ↔ session join: one decision ([`correlate::decide`]), made by one pass over what
//! changed ([`Join::run`]), and once up front for a recording being catalogued
//! ([`Join::decide_new`], so its row is written once). A session whose matched fields change marks
//! its `sessionwindows` row pending over the creation times it affects; a recording carries
//! `JoinDue`. The pass reads what is pending or to rejoin, widens to the whole window of every session
//! whose recorded state may change, and writes only what changed; what a crash or a spent budget
//! leaves stays pending. `docs/catalogue.md` tells the whole story. What a pass reads (recordings
//! by creation and rejoin time, the day rows that can match them) is read in `reads`; what it writes, and its
//! lease, in `write`.

pub mod correlate;
pub mod findings;
pub mod growing;
mod pass;
mod reads;
pub mod tick;
mod write;

pub use correlate::Times;
pub use pass::{Report, Scope};
pub use reads::{Join, horizon, window_filter};

#[cfg(test)]
mod cost_tests;
#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod tests;
