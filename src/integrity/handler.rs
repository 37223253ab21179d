//! Hashing one recording (`RecordingHash`, queue `hashrequests`): hashes it and records the digest in its
//! catalogue row with an ETag-conditional merge that keeps every other property.
//!
//! Idempotent: a row already hashed at the blob's current ETag is skipped. A blob that is gone is
//! skipped (deletion is the sweep's and `verify`'s business). If the blob changed since the request,
//! the current content is hashed and `HashedEtag` says which state the digest belongs to.

use serde_json::Value;

use super::blob_of;
use super::hash::{CHUNK, HashError, Hashed, hash_blob};
use super::{PROP_AT, PROP_ETAG, PROP_LENGTH, PROP_SHA256};
use crate::catalogue::model::RecordingKey;
use crate::catalogue::repo::CatalogueRepo;
use crate::dates::format_utc;
use crate::invocation::{HandlerError, Outcome};
use crate::ports::Ports;
use crate::storage::{StorageError, normalize_etag};
use crate::tables::{get_str, int64};

/// Hashes the recording at `key` unless its row already holds the digest of the current state.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn hash_recording(
    ports: &Ports,
    key: &RecordingKey,
    requested_etag: &str,
) -> Result<Outcome, HandlerError> {
    let repo = CatalogueRepo::new(ports.tables.clone());
    let Some(row) = repo.get(key).await? else {
        return Ok(Outcome::skipped(format!(
            "recording {} is not catalogued",
            key.id()
        )));
    };
    let (store, blob) = blob_of(ports, &row.value)?;
    let current = match store.properties(&blob).await {
        Err(StorageError::NotFound) => {
            return Ok(Outcome::skipped(format!("blob {blob} no longer exists")));
        }
        other => other?.etag,
    };
    if hashed_at(&row.raw) == Some(normalize_etag(&current)) {
        return Ok(Outcome::skipped("already hashed at the current ETag"));
    }
    let hashed = match hash_blob(store, &blob, CHUNK).await {
        Ok(h) => h,
        Err(HashError::Missing) => {
            return Ok(Outcome::skipped(format!("blob {blob} no longer exists")));
        }
        Err(HashError::Unstable) => {
            return Err(HandlerError::storage(anyhow::anyhow!(
                "blob {blob} kept changing while being hashed"
            )));
        }
        Err(HashError::Storage(e)) => return Err(e.into()),
    };
    record(ports, &repo, key, row, &hashed).await?;
    let note = if normalize_etag(requested_etag) == normalize_etag(&hashed.etag) {
        String::new()
    } else {
        format!(
            " (blob changed since the request; hashed ETag {})",
            hashed.etag
        )
    };
    Ok(Outcome::processed(format!(
        "hashed recording {}: {} bytes{note}",
        key.id(),
        hashed.length
    )))
}

/// `HashedEtag` of a row, normalised.
pub fn hashed_at(raw: &crate::tables::Entity) -> Option<&str> {
    get_str(raw, PROP_ETAG)
        .filter(|e| !e.is_empty() && get_str(raw, PROP_SHA256).is_some())
        .map(normalize_etag)
}

/// Merges the digest into the row, keeping every other property; a row gone meanwhile needs none.
async fn record(
    ports: &Ports,
    repo: &CatalogueRepo,
    key: &RecordingKey,
    row: crate::catalogue::repo::Versioned<crate::catalogue::model::CatalogueEntry>,
    hashed: &Hashed,
) -> Result<(), HandlerError> {
    let at = format_utc(ports.clock.now());
    let length = i64::try_from(hashed.length).unwrap_or(i64::MAX);
    repo.update(key, Some(row), &mut |cur| {
        let row = cur?;
        let mut raw = row.raw.clone();
        raw.insert(PROP_SHA256.into(), Value::String(hashed.sha256.clone()));
        raw.insert(PROP_ETAG.into(), Value::String(hashed.etag.clone()));
        raw.insert(PROP_AT.into(), Value::String(at.clone()));
        int64(&mut raw, PROP_LENGTH, length);
        Some((row.value.clone(), raw))
    })
    .await?;
    Ok(())
}
