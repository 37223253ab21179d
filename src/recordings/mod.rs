//! Recordings: `RecordingCreated` turns a blob-created event on the recordings container into a
//! catalogue row, retention tags and one `recording.catalogued` notification.
//!
//! [`ingest`] is pure (is the event ours? is it newer? what does the row say?); [`handler`] does the
//! I/O. Tests: unit tests beside `ingest`, component tests in `handler`, real-process tests in
//! `tests/e2e/recordings.rs`.

pub mod handler;
pub mod ingest;

/// The function (folder, route, telemetry) name.
pub const FUNCTION: &str = "RecordingCreated";

#[cfg(test)]
mod tests;
