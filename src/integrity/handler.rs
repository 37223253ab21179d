//! `RecordingHash` (queue `hashrequests`): records the digest of the blob's current state in its
//! row (skipped when current or gone), then compares the tags with the row (`tags_checked`).

use super::blob::{blob_of, tags_checked};
use super::hash::{CHUNK, hash_blob};
use crate::azure::{AzureError, found};
use crate::catalogue::recording::{Recording, RecordingKey};
use crate::dates::format_utc;
use crate::ports::Ports;
use crate::spine::Handled;
use crate::storage::normalize_etag;

/// Hashes the recording at `key` unless its row already holds the digest of the current state.
///
/// # Errors
/// The port's error on a storage fault.
pub async fn hash_recording(
    ports: &Ports,
    key: &RecordingKey,
    requested_etag: &str,
) -> Result<Handled, AzureError> {
    let repo = ports.catalogue();
    let Some(row) = repo.get(key).await? else {
        return Ok(Handled::skipped(format!(
            "recording {} is not catalogued",
            key.id()
        )));
    };
    let (store, blob) = blob_of(ports, &row.value)?;
    let Some(current) = found(store.properties(&blob).await)? else {
        return Ok(Handled::skipped(format!("blob {blob} no longer exists")));
    };
    let current = current.etag;
    // Judged last: a failure before it leaves the tags to the retry, so no restore goes unreported.
    let tags_checked =
        |row: Recording| async move { tags_checked(ports, &row, ports.clock.now()).await };
    if hashed_at(&row.value) == Some(normalize_etag(&current)) {
        let alert = tags_checked(row.value).await?;
        let why = "already hashed at the current ETag";
        return Ok(Handled::skipped(why).found(alert));
    }
    let Some(mut hash) = found(hash_blob(store, &blob, CHUNK).await)? else {
        return Ok(Handled::skipped(format!("blob {blob} no longer exists")));
    };
    let checked = row.value.clone();
    hash.at = format_utc(ports.clock.now());
    // Every other field kept; a row gone meanwhile needs none.
    let record = |cur: Option<&Recording>| {
        let mut r = cur?.clone();
        r.hash = Some(hash.clone());
        Some(r)
    };
    repo.update(key, Some(row), record).await?;
    let alert = tags_checked(checked).await?;
    let note = if normalize_etag(requested_etag) == normalize_etag(&hash.etag) {
        String::new()
    } else {
        format!(
            " (blob changed since the request; hashed ETag {})",
            hash.etag
        )
    };
    let done = format!("hashed recording {}: {} bytes{note}", key.id(), hash.length);
    Ok(Handled::done(done).found(alert))
}

/// `HashedEtag` of a row, normalised: the blob state its digest belongs to.
pub fn hashed_at(row: &Recording) -> Option<&str> {
    row.hash
        .as_ref()
        .map(|h| normalize_etag(&h.etag))
        .filter(|e| !e.is_empty())
}
