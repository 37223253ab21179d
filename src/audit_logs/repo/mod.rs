//! Tables of the audit-log domain (logical names; the table client applies `TABLE_PREFIX`).
//!
//! | table | PK | RK | purpose |
//! |---|---|---|---|
//! | `auditcursors` | hour day `YYYY-MM-DD` | base64url(blob name) | tail position per `PT1H.json` |
//! | `sessions` | tunnelId | `session` | one merged row per session |
//! | `sessionwindows` | session start day | tunnelId | time-bounded index for heuristic joins and detections; joins still pending (`JoinFrom`/`JoinUntil`) |
//! | `recordingkeys` | GUID found in a recording | recording id | exact-key joins from the session side |
//! | `failedlogins` | base64url(window, dimension, value, VM) | tunnelId | idempotent failed-login counts |
//! | `failedlogins` | `~pending` | an attempts partition | burst checks still to run (cleared after a successful check) |
//! | `auditstate` | `state` | fact name | dedupe markers of episode notifications |
//!
//! Every write is a read-modify-write with ETag conditions ([`crate::tables::ops::update`]), so concurrent writers merge
//! instead of overwriting each other.

mod cursor;
pub mod windows;

pub use cursor::{Cursor, CursorRepo};
pub use windows::{WindowRow, session_fields, window_of};

/// Table of tail cursors.
pub const CURSORS_TABLE: &str = "auditcursors";
/// Table of sessions.
pub const SESSIONS_TABLE: &str = "sessions";
/// Index of sessions by start day.
pub const WINDOWS_TABLE: &str = "sessionwindows";
/// Index of recordings by the GUIDs in their name/metadata.
pub const RECORDING_KEYS_TABLE: &str = "recordingkeys";
/// Failed logins per window and dimension.
pub const FAILED_TABLE: &str = "failedlogins";
/// Dedupe markers.
pub const STATE_TABLE: &str = "auditstate";
