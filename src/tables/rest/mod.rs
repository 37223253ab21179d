//! [`TableStore`](super::TableStore) over the Azure Table Storage REST API, on the one HTTP client
//! ([`crate::azure::http`]: an account SAS or the identity's token, the retry policy, the
//! connection's timeouts, the error kinds, one log line per failed call).
//!
//! Owns the mapping of entity operations to REST calls (`store`), each sent by the client
//! (`client`); URL encoding lives in `encode`, the entity group transaction in `batch`. A 403 names the permission of the operation on the
//! table. Entities come back without OData annotations and without the server-managed
//! `Timestamp`, so they compare equal to what the in-memory fake returns.

mod batch;
mod client;
mod encode;
mod store;

pub use client::TableRestClient;

#[cfg(test)]
mod tests;
