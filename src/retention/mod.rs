//! Retention: which class a blob belongs to, until when it must be kept, and (later) the sweep.
//!
//! [`policy`] is pure: classes and ordered rules loaded from TOML (`RETENTION_POLICY`) or the built-in
//! default, classification of a [`policy::Subject`], and the tag merge rule that never shortens an
//! existing `retain-until` and never lifts a legal hold.

pub mod policy;

/// Blob index tag holding the retention class.
///
/// Tag keys are camelCase (the reference tag design) rather than `retention-class`: Azure accepts a
/// hyphenated key in a quoted filter expression, but Azurite 3.35 rejects any key outside
/// `[A-Za-z0-9_]` in Find Blobs by Tags and `x-ms-if-tags` (400), which would make the sweep
/// impossible to run or test locally. camelCase keys work unquoted on both.
pub const TAG_CLASS: &str = "retentionClass";
/// Blob index tag holding the retain-until date (`YYYY-MM-DD`, lexicographically comparable).
pub const TAG_UNTIL: &str = "retainUntil";
/// `retain-until` of a held blob: later than any date a sweep compares against, so held blobs are
/// outside every `"retain-until" < 'today'` range without needing `<>` or `OR` (which the service
/// does not support in Find Blobs by Tags).
pub const HELD_UNTIL: &str = "9999-12-31";
/// The class name of a legal hold.
pub const LEGAL_HOLD: &str = "legal-hold";
