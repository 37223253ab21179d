//! Retention: which class a blob belongs to, until when it must be kept, legal holds, the daily
//! sweep that deletes expired blobs with evidence, and the lifecycle policy that tiers them cheaply.
//!
//! # Tag scheme (blob index tags, ≤ 10 per blob; this module uses at most 3)
//! Keys are camelCase (`[A-Za-z0-9]` only): Azure accepts `-` in keys, but Azurite 3.35 rejects
//! any key outside `[A-Za-z0-9_]` in a Find Blobs by Tags expression, and the sweep's query must
//! run on Azurite in tests and local development exactly as on Azure.
//! - `retentionClass` = the class name (`ops-30d`, `pci-1y`, …, `audit-1y`), or `legal-hold`.
//! - `retainUntil` = `YYYY-MM-DD` (zero-padded UTC, so lexicographic order is date order), or
//!   [`HELD_UNTIL`] (`9999-12-31`) while held.
//! - `heldFrom` = `<class>/<YYYY-MM-DD>` while held: the pair a release restores.
//!
//! The sweep's one query is `"retainUntil" < '<today>'`: a single range on one key, efficient and
//! proportional to the number of expired blobs. A hold rewrites `retainUntil` to the far future
//! instead of adding a flag, because the service has neither `<>` nor `OR`, so "expired AND NOT held"
//! could not be expressed — moving the held blob out of the range can.
//!
//! [`policy`] is pure (classes, rules, tag merge); [`tags`] the pure tag scheme; [`hold`] legal holds
//! and overrides; [`retag`] a recording's class by its session; [`retagged`] tags changed outside the product, found and restored; [`sweep`] the `RetentionSweep`
//! function; [`tombstone`] deletion evidence;
//! [`lifecycle`] the lifecycle-management policy generator; [`settings`] its app settings.

pub mod hold;
pub mod lifecycle;
pub mod policy;
pub mod retag;
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
/// Kept on the blob (not only in table `holds`) so the tag set alone is enough to undo a hold.
pub const TAG_HELD_FROM: &str = "heldFrom";
/// `retainUntil` of a held blob: later than any date a sweep compares against, so held blobs are
/// outside every `"retainUntil" < 'today'` range without needing `<>` or `OR` (which the service
/// does not support in Find Blobs by Tags).
pub const HELD_UNTIL: &str = "9999-12-31";
/// The class name of a legal hold (a catalogue value: the row and the tags spell it alike).
pub use crate::catalogue::LEGAL_HOLD;

/// A table row from a `json!` object (anything else is empty).
pub(crate) fn row(v: serde_json::Value) -> crate::tables::Entity {
    match v {
        serde_json::Value::Object(m) => m,
        _ => crate::tables::Entity::new(),
    }
}
