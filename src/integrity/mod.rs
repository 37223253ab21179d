//! Integrity of recordings: SHA-256 of each recording's content, recorded in its catalogue row.
//!
//! [`hash`] streams a blob through SHA-256 with ranged reads in constant memory (two chunks: one
//! being hashed, the next in flight); [`handler`] is the queue-triggered `RecordingHash` function
//! fed by `RecordingCreated` through queue `hashrequests`; [`verify`] re-hashes catalogued rows and
//! reports `recording.tampered` / `recording.missing` facts (CLI `verify`, and the weekly
//! `IntegrityVerify` timer in [`timer`], over a bounded random sample). Both compare the blob's
//! index tags with the row too (`tags_checked`): a disagreement is restored and raises
//! `recording.retagged`.
//!
//! **Why not a blob index tag.** Blob index tags are capped at 10 per blob and already carry the
//! retention scheme (class, retain-until, hold marks); a 64-character digest would spend one of the
//! remaining slots on a value nobody filters by, and anyone with tag-write permission (the sweep's
//! identity) could rewrite it next to the content. The digest is evidence, so it lives in the
//! catalogue row (a separate store the recording writer cannot touch), with the hashed length and
//! the ETag of the hashed state.

pub mod checks;
pub mod handler;
pub mod hash;
pub mod timer;
pub mod verify;

use crate::azure::AzureError;
use crate::ports::Ports;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::storage::{BlobRef, BlobStore};

/// The store and blob of a catalogue row; a row of a source no longer configured cannot be
/// read (a permanent error, counted by the caller, never a finding).
pub(crate) fn blob_of<'a>(
    ports: &'a Ports,
    row: &crate::catalogue::recording::Recording,
) -> Result<(&'a dyn BlobStore, BlobRef), AzureError> {
    let (source, blob) = ports
        .sources
        .blob_of_row(row)
        .map_err(AzureError::Permanent)?;
    Ok((source.store.as_ref(), blob))
}

/// Compares the blob index tags of `row`'s blob with the row ([`crate::retention::retagged`]):
/// a disagreement is restored and its `recording.retagged` returned, under the same id the sweep
/// gives it. A blob gone has no tags to judge.
///
/// # Errors
/// Storage failures.
pub(crate) async fn tags_checked(
    ports: &Ports,
    row: &crate::catalogue::recording::Recording,
    now: time::OffsetDateTime,
) -> Result<Option<crate::notify::Notification>, AzureError> {
    if crate::retention::retagged::expected(row).is_none() {
        return Ok(None);
    }
    let (store, blob) = blob_of(ports, row)?;
    let tags = match store.get_tags(&blob).await {
        Err(AzureError::NotFound) => return Ok(None),
        other => other?,
    };
    let host = ports
        .sources
        .of_row(row)
        .and_then(|s| s.bastion_id.as_deref());
    let repo = ports.catalogue();
    crate::retention::retagged::check(store, &blob, &repo, row, &tags, now, host).await
}

/// The function (folder, route) name.
pub const FUNCTION: &str = "RecordingHash";
/// `RecordingCreated`'s output binding name for that queue.
pub const OUTPUT_BINDING: &str = "hashRequests";

/// Catalogue properties written by the hash.
pub const PROP_SHA256: &str = "Sha256";
/// Length in bytes of the hashed content.
pub const PROP_LENGTH: &str = "HashedLength";

/// A queue message asking for one recording's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashRequest<'a> {
    /// Public recording id (`day~rowkey`).
    pub recording_id: Cow<'a, str>,
    /// Container.
    pub container: Cow<'a, str>,
    /// Blob name.
    pub blob_name: Cow<'a, str>,
    /// ETag of the catalogued state.
    pub etag: Cow<'a, str>,
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
