//! The catalogue: the recordings (table `recordings`, one typed [`recording::Recording`] per row
//! with one writer, [`repo::CatalogueRepo::update`]), their keys, and the index rows of the API's
//! VM and user filters.

pub mod guids;
pub mod index;
pub mod key;
pub mod paths;
pub mod recording;
pub mod repo;
pub mod session;
pub mod window;

/// Table of recordings.
pub const RECORDINGS_TABLE: &str = "recordings";
/// The class name of a legal hold.
pub const LEGAL_HOLD: &str = "legal-hold";
