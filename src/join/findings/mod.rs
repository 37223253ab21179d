//! The join's two findings, each alerted once (stable ids) by the writer that wins its mark:
//!
//! - `recording.suspect` ([`suspect`]): a row whose match the join judged `suspect`
//!   ([`super::correlate`]) is alerted once per content, marked on the row
//!   (`SuspectAlertedEtag`). Cataloguing alerts a row written suspect; a tick whose join pass
//!   changed a join scans the recent suspect rows not alerted yet ([`suspect::run_suspect`]).
//! - `session.unrecorded` ([`unrecorded`]): a successful session that no recording's match vouches
//!   for once the grace period after its end arrived has passed, or, its end record never
//!   arriving, `SESSION_MAX_HOURS` after its start (`ended: unknown`), and its join is not pending
//!   ([`unrecorded::run_unrecorded`]).

pub mod suspect;
pub mod unrecorded;

#[cfg(test)]
mod tests;
