//! Operational health: each function's last invocation (heartbeats) and `GET /api/health`.
//! Heartbeats are kept in memory and flushed on a timer ([`flush::run`]): a row per invocation
//! would cost the hot path a storage call per event, and data already written cannot say how an
//! invocation ended. A row can be one interval stale; the endpoint merges unflushed beats.

pub mod beats;
pub mod flush;
pub mod queues;
pub mod report;
pub mod sentinel;
pub mod sources;

pub use self::beats::Heartbeats;

#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod tests;
