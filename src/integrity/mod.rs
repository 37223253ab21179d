//! Integrity of recordings: each one's SHA-256 in its catalogue row (not a tag, which a tag
//! writer could rewrite). [`hash`] streams a blob; [`handler`] is `RecordingHash`; [`verify`]
//! and the weekly [`timer`] re-hash and report; both also compare tags with the row.

pub mod blob;
pub mod checks;
pub mod handler;
pub mod hash;
pub mod timer;
pub mod verify;

/// The function (folder, route) name.
pub const FUNCTION: &str = "RecordingHash";
/// `RecordingCreated`'s output binding name for that queue.
pub const OUTPUT_BINDING: &str = "hashRequests";

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
