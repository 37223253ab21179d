//! Streaming SHA-256 of a blob in two chunks of memory (one hashed, the next in flight), retried
//! when the ETag changed meanwhile (a mix of two versions would be a wrong digest).

use sha2::{Digest, Sha256};

use crate::azure::AzureError;
use crate::catalogue::recording::Hash;
use crate::storage::{BlobRef, BlobStore};

/// Default ranged-read size: 8 MiB (few round trips, modest memory).
pub const CHUNK: u64 = 8 * 1024 * 1024;
const ATTEMPTS: usize = 3;

/// Hashes the current content of `blob` in `chunk`-byte ranged reads: its digest, length and
/// ETag (`at` empty: when it is recorded is the caller's).
///
/// # Errors
/// `NotFound` when the blob does not exist; `Transient` when it kept changing for `ATTEMPTS`
/// reads; storage failures.
pub async fn hash_blob(
    store: &dyn BlobStore,
    blob: &BlobRef,
    chunk: u64,
) -> Result<Hash, AzureError> {
    let chunk = chunk.max(1);
    for _ in 0..ATTEMPTS {
        let before = store.properties(blob).await?.etag;
        let (sha256, length) = digest(store, blob, chunk).await?;
        let after = store.properties(blob).await?.etag;
        if before == after {
            return Ok(Hash {
                sha256,
                length,
                etag: after,
                at: String::new(),
            });
        }
    }
    Err(AzureError::Transient(format!(
        "blob {blob} kept changing while being hashed"
    )))
}

async fn digest(
    store: &dyn BlobStore,
    blob: &BlobRef,
    chunk: u64,
) -> Result<(String, u64), AzureError> {
    let mut hasher = Sha256::new();
    let mut offset = 0u64;
    let mut current = read(store, blob, 0, chunk).await?;
    loop {
        let len = current.len() as u64;
        if len == 0 {
            break;
        }
        offset += len;
        if len < chunk {
            hasher.update(&current);
            break;
        }
        // Overlap: the next read is in flight while this chunk is hashed.
        let (next, ()) = tokio::join!(read(store, blob, offset, chunk), async {
            hasher.update(&current);
        });
        current = next?;
    }
    Ok((hex::encode(hasher.finalize()), offset))
}

async fn read(
    store: &dyn BlobStore,
    blob: &BlobRef,
    offset: u64,
    len: u64,
) -> Result<bytes::Bytes, AzureError> {
    match store.read_range(blob, offset, len).await {
        Err(AzureError::RangeNotSatisfiable) => Ok(bytes::Bytes::new()),
        other => other,
    }
}
