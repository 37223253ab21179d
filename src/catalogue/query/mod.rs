//! The one query of the lists (API, CLI, evidence pack): its parameters, the day partitions it
//! reads and which typed rows match ([`Listed`]). Unknown parameters are refused, so a typo never
//! widens a query; matching is case-insensitive (as resource ids and UPNs are in Azure).

pub mod model;
pub mod page;
pub mod rows;
pub mod shape;

pub use model::{Invalid, Listed, MAX_LIMIT, Query, limit, partition_days};
