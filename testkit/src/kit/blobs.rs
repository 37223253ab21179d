//! Blobs the component tests put in place, as an uploader would.

use bytes::Bytes;

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};

/// Puts `body` at `blob` as `application/octet-stream` with metadata `meta`; returns its ETag.
pub async fn put<S: BlobStore + ?Sized>(
    store: &S,
    blob: &BlobRef,
    body: impl Into<Bytes>,
    meta: &[(&str, &str)],
) -> String {
    let meta: Metadata = super::maps::owned(meta);
    store
        .put(blob, body.into(), "application/octet-stream", &meta)
        .await
        .expect("put")
}
