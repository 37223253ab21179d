//! The catalogue: recordings (and, later, sessions) as table rows, and their keys.
//!
//! [`model`] holds the row types and key scheme; [`repo`] the concrete repositories over
//! `Arc<dyn TableStore>`. Shared on purpose by the domain modules that write or read the catalogue.

pub mod index;
pub mod key;
pub mod model;
pub mod repo;

/// Table of recordings.
pub const RECORDINGS_TABLE: &str = "recordings";
