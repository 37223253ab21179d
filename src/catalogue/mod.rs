//! The catalogue: the recordings (table `recordings`, one typed [`recording::Recording`] per row
//! with one writer, [`repo::CatalogueRepo::update`]), their keys, the sessions and their day rows,
//! the index rows of the VM and user filters, the one query every list reads through ([`query`]),
//! the access audit of those reads ([`access`]), each figure about sessions ([`figures`]), who a principal is ([`person`]), the retention policy that classes a recording ([`policy`]) and the record of changed sessions ([`changes`])
//! the review queue drains.

pub mod access;
pub mod changes;
pub mod days;
pub mod doubt;
pub mod figures;
pub mod identity;
pub mod key;
pub mod person;
pub mod policy;
pub mod query;
pub mod recording;
pub mod rejudge;
pub mod repo;
pub mod row_source;
pub mod session;
pub mod trail;
pub mod writer;

pub use recording::{LEGAL_HOLD, RECORDINGS_TABLE};

/// The catalogue's tables an evidence pack reads, named in its manifest: the session days, the
/// recordings and the access audit.
pub const PACKED_TABLES: [&str; 3] = [
    days::DAYS_TABLE,
    RECORDINGS_TABLE,
    access::ACCESS_AUDIT_TABLE,
];
