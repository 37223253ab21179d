//! Retention (scheme and reasons in docs/retention.md; the policy's classes, rules and the class by
//! session are the catalogue's [`crate::catalogue::policy`]): [`tags`] the tag scheme, [`hold`] legal holds and overrides,
//! [`retagged`] tags changed outside the product, [`sweep`] the `RetentionSweep` function,
//! [`tombstone`] deletion evidence, [`lifecycle`] the tiering policy, [`settings`].

pub mod hold;
pub mod lifecycle;
pub mod retagged;
pub mod settings;
pub mod sweep;
pub mod tags;
pub mod tombstone;

/// The policy's tags and values (catalogue values: the row and the tags spell them alike).
pub use crate::catalogue::LEGAL_HOLD;
pub use crate::catalogue::policy::{HELD_UNTIL, TAG_CLASS, TAG_UNTIL};
pub use tags::TAG_HELD_FROM;
