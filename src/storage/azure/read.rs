//! Ranged reads: exactly the requested bytes, one request, `416` mapped to `RangeNotSatisfiable`.

use std::num::NonZero;

use azure_storage_blob::BlobClient;
use azure_storage_blob::models::BlobClientDownloadOptions;
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt as _;

use crate::azure::AzureError;

/// Reads up to `len` bytes from `offset`.
pub(crate) async fn read_range(
    blob: &BlobClient,
    offset: u64,
    len: u64,
) -> Result<Bytes, AzureError> {
    // Clamp so `offset + len` cannot overflow.
    let len = len.min(u64::MAX - offset);
    let limit = usize::try_from(len).unwrap_or(usize::MAX);
    let Some(part) = NonZero::new(limit) else {
        return Err(AzureError::RangeNotSatisfiable);
    };
    let options = BlobClientDownloadOptions {
        range: Some((offset..offset + len).into()),
        // One request for the whole range: no parallel partitions, nothing beyond the range.
        parallel: NonZero::new(1),
        partition_size: Some(part),
        ..Default::default()
    };
    let download = blob.download(Some(options)).await?;
    let mut body = download.body;
    let mut out = BytesMut::new();
    // The SDK retries a 416 at offset 0 without a range: stop at `len` whatever arrives.
    while let Some(chunk) = body.try_next().await? {
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= limit {
            break;
        }
    }
    if out.is_empty() {
        // Offset 0 of an empty blob: the service's answer is 416 too, the SDK hides it.
        return Err(AzureError::RangeNotSatisfiable);
    }
    Ok(out.freeze())
}
