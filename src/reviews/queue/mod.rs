//! The review queue: the sessions that still need a human, in one `reviewqueue` partition whose row
//! keys sort riskiest first ([`read`]); derived again whenever the join changes a session
//! ([`derive::refresh`]), withdrawn for good by a review. Tables: docs/reviews.md.

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
