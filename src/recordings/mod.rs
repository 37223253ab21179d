//! Recordings: a blob event becomes a catalogue row, retention tags and notifications.
//! [`ingest`] and [`outside`] are pure; [`created`] and [`deleted`] do the I/O ([`Recordings`]); [`reconcile`]
//! brings a listed blob in (`Reconcile`, backfill); [`compare`] finds what no event announced
//! (the daily listing), [`logged`] what the storage logs show (`CustodyActor`), [`writer`] who wrote a
//! recording's content, as they show it.

pub mod compare;
pub mod created;
pub mod deleted;
pub mod early;
pub mod ingest;
pub mod logged;
pub mod outside;
pub mod reconcile;
pub mod writer;

pub use created::Recordings;
pub use ingest::Catalogued;

/// The function (folder, route, telemetry) name.
pub const FUNCTION: &str = "RecordingCreated";

#[cfg(test)]
mod tests;
