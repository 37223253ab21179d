//! The evidence pack: one period's sessions, recordings, reviews, holds, deletions, accesses and
//! integrity state as CSV files, a self-contained report with charts, and a manifest of every
//! file's SHA-256 and size signed with Ed25519 (`EVIDENCE_SIGNING_KEY`).
//!
//! [`pack::write_pack`] streams each table's rows from a [`source::RowSource`] into its file,
//! counting the report's [`figures`] as they pass; [`verify::verify_dir`] checks a pack;
//! [`zip`] packs a directory for the API and the blob upload.

pub mod figures;
pub mod key;
pub mod manifest;
pub mod pack;
pub mod pdf;
pub mod report;
pub mod source;
pub mod verify;
pub mod writer;
pub mod zip;

#[cfg(test)]
mod tests;
