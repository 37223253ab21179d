//! `RecordingCreated` end to end through the real process.
