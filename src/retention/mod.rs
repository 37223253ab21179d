//! Retention (scheme and reasons in docs/retention.md): [`policy`] classes, rules and the class by
//! session, [`tags`] the tag scheme, [`hold`] legal holds and overrides,
//! [`retagged`] tags changed outside the product, [`sweep`] the `RetentionSweep` function,
//! [`tombstone`] deletion evidence, [`lifecycle`] the tiering policy, [`settings`].

pub mod hold;
pub mod lifecycle;
pub mod policy;
pub mod retagged;
pub mod settings;
pub mod sweep;
pub mod tags;
pub mod tombstone;

/// Blob index tag holding the retention class.
pub const TAG_CLASS: &str = "retentionClass";
/// Blob index tag holding the retain-until date (`YYYY-MM-DD`, lexicographically comparable).
pub const TAG_UNTIL: &str = "retainUntil";
/// Blob index tag holding `<class>/<retain-until>` from before a legal hold, restored on release.
pub const TAG_HELD_FROM: &str = "heldFrom";
/// `retainUntil` of a held blob: outside every sweep range (Find Blobs by Tags has no `<>`).
pub const HELD_UNTIL: &str = "9999-12-31";
/// The class name of a legal hold (a catalogue value: the row and the tags spell it alike).
pub use crate::catalogue::LEGAL_HOLD;
