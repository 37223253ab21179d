//! Microsoft Sentinel: what the product sends through the Logs Ingestion API and how.
//!
//! The rows are recorded where their facts change (the outbox, [`crate::export`]); the timer
//! `SentinelExport` drains the outbox in order, table by table, a lease per table so one instance
//! drains it at a time ([`drain`]). [`settings`]: `SENTINEL_INGESTION_ENDPOINT` and
//! `SENTINEL_DCR_IMMUTABLE_ID`; unset, nothing is recorded and the timer has nothing to do.

pub mod drain;
pub mod settings;

/// The timer function.
pub const FUNCTION: &str = "SentinelExport";

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
