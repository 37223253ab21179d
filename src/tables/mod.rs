//! The table port: entity-level access to Azure Table Storage.
//!
//! Owns [`TableStore`] (the seam), [`Entity`] and the structured [`Filter`] (rendered to OData by
//! the REST client, evaluated directly by the fake, so both agree without an OData parser); its
//! failures are the one [`AzureError`](crate::azure::AzureError). Knows nothing about recordings
//! or sessions.
//! Implementations: [`rest::TableRestClient`] (the Table REST API on [`crate::azure::http`]) and
//! the test kit's in-memory fake (`bastion-testkit`, `tables::memory`); one contract suite covers
//! both. The kit's `tables::intercept` wraps either and runs a hook before every call (counting
//! round trips, recording, fault injection).
//! [`ops`] holds the operations every domain shares, among them the one ETag read-modify-write.
//! [`TableStore::batch`] writes (or deletes, [`WriteMode::Delete`]) up to [`MAX_BATCH`] entities
//! of one partition in one round trip.

mod entity;
pub mod filter;
#[cfg(test)]
mod key_builders_tests;
pub mod keys;
pub mod lease;
pub mod ops;
mod port;
pub mod rest;

pub use entity::{
    entity, get_i64, get_list, get_record, get_str, int64, is_annotation, keyed, put_record,
    strip_annotations,
};
pub use filter::Filter;
pub use port::{Entity, IN_FLIGHT, MAX_BATCH, QueryPage, Stored, TableStore, WriteMode};
