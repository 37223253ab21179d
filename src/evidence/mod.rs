//! The evidence pack: one period's sessions, recordings, reviews, holds, deletions, accesses,
//! integrity state, refused self-reviews, two-person hold releases and custody events
//! ([`custody`]) as CSV files, a self-contained report with charts, and a manifest of every
//! file's SHA-256 and size signed with Ed25519 (`EVIDENCE_SIGNING_KEY`).
//!
//! [`pack::write_pack`] streams each file's rows from the app's tables ([`source::Source`]: the
//! catalogue's lists through its one query, [`listed`], and the other tables, [`records`]) into
//! its file, counting the report's [`figures`] as they pass;
//! [`verify::verify_dir`] checks a pack; [`zip`] packs a directory for the API and the blob
//! upload; [`publish`] stores the month's pack write-once for the `EvidencePack` timer.

pub mod custody;
pub mod figures;
pub mod hosts;
pub mod key;
pub mod listed;
pub mod manifest;
pub mod options;
pub mod pack;
pub mod pdf;
pub mod publish;
pub mod records;
pub mod report;
pub mod rows;
pub mod source;
pub mod verify;
pub mod writer;
pub mod zip;

#[cfg(test)]
mod custody_tests;
#[cfg(test)]
mod tables_tests;
#[cfg(test)]
mod tests;
