//! Recordings: `RecordingCreated` turns a blob-created event on the recordings container into a
//! catalogue row, retention tags and one `recording.catalogued` notification.
//!
//! [`ingest`] is pure (is the event a creation? is it newer? what does the row say?); [`created`]
//! does the I/O over the ports and the policy ([`Recordings`]); [`reconcile`] brings a listed blob in
//! (`Reconcile`, backfill). The function itself is
//! [`crate::functions::recordings`]. Tests: unit tests beside `ingest`, component tests in `tests`,
//! real-process tests in `tests/e2e/recordings/`.

pub mod created;
pub mod deleted;
pub mod ingest;
pub mod reconcile;

pub use created::{Catalogued, Recordings};

/// The function (folder, route, telemetry) name.
pub const FUNCTION: &str = "RecordingCreated";

#[cfg(test)]
mod tests;
