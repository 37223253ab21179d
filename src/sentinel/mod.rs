//! Microsoft Sentinel: the timer `SentinelExport` drains the outbox ([`crate::export`]) through the
//! Logs Ingestion API, table by table under a lease; unset settings record nothing.

pub mod drain;
pub mod settings;

/// The timer function.
pub const FUNCTION: &str = "SentinelExport";

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
