//! The review queue: the sessions that still need a human, ranked by risk ([`risk`]), with the
//! reasons shown: one partition of table `reviewqueue` whose row keys sort riskiest first, so the
//! riskiest `limit` are the first rows of one query ([`read`]).
//!
//! | table | PK | RK | what |
//! |---|---|---|---|
//! | `reviewqueue` | `queue` | `r~` + [`entry::rank_key`] (`9999 − score`, start, tunnel id) | a queued session: score, reasons, `DueAt`, the fields shown, a copy of `OverdueNotified` |
//! | `reviewqueue` | `queue` | `s~` + tunnel id | the session's entry: `Rank` (its rank row's key, while queued), `Reviewed`, `OverdueNotified`, `OverdueBy` |
//! | `reviewqueue` | `basis` | `basis` | the settings and the flagged hosts the queue was derived under ([`mod@derive`]) |
//! | `reviewpairs` | base64url(user `|` VM) | `seen` | recent session starts of a user to a VM (30 days), for "first in 30 days" ([`pairs`]) |
//!
//! [`derive::refresh`] (timer `ReviewQueue`) drains the record of changed sessions the join pass
//! keeps ([`crate::catalogue::changes`]), so every session that changes is derived again,
//! whatever its day. A session's rows change in one transaction ([`entry`]): a review takes it
//! out for good ([`entry::withdraw`]); [`overdue`] raises `review.overdue` once per session.
//!
//! **Races with a review.** Both write the session's entry conditionally on it as read, so they
//! take turns: a derivation that comes second finds it reviewed and leaves it out.

pub mod derive;
pub mod entry;
pub mod overdue;
pub mod pairs;
pub mod read;
pub mod risk;

#[cfg(test)]
mod entry_tests;
#[cfg(test)]
mod tests;
