//! The evidence pack: one period's rows as CSV files, a self-contained report with charts, and a
//! manifest of every file's SHA-256 and size signed with Ed25519 (`EVIDENCE_SIGNING_KEY`, the key of [`crate::pack::key`]).

pub mod authorized;
pub mod custody;
pub mod doors;
pub mod figures;
pub mod hosts;
pub mod lists;
pub mod manifest;
pub mod named;
pub mod options;
pub mod pack;
pub mod pdf;
pub mod publish;
pub mod reach;
pub mod records;
pub mod report;
pub mod reviewed;
pub mod rows;
pub mod source;
pub mod verdict;
pub mod verify;
pub mod writer;
pub mod zip;

#[cfg(test)]
mod columns_tests;
#[cfg(test)]
mod custody_tests;
#[cfg(test)]
mod declared_tests;
#[cfg(test)]
mod doors_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod lists_tests;
#[cfg(test)]
mod tables_tests;
#[cfg(test)]
mod tests;
