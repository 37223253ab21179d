//! The store and blob a catalogue row names, and its tags compared with the row: what the hash
//! handler, [`super::verify`] and the weekly [`super::timer`] share.

use crate::azure::{AzureError, found};
use crate::catalogue::row_source::RowSource;
use crate::ports::Ports;
use crate::storage::{BlobRef, BlobStore};

/// The store and blob of a catalogue row (an unconfigured source: `Permanent`, never a finding).
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

/// Compares the tags of `row`'s blob with the row ([`crate::retention::retagged::check`]).
///
/// # Errors
/// Storage failures.
pub(crate) async fn tags_checked(
    ports: &Ports,
    row: &crate::catalogue::recording::Recording,
    now: time::OffsetDateTime,
) -> Result<Option<crate::spine::Finding>, AzureError> {
    if crate::retention::retagged::expected(row).is_none() {
        return Ok(None);
    }
    let (store, blob) = blob_of(ports, row)?;
    let Some(tags) = found(store.get_tags(&blob).await)? else {
        return Ok(None);
    };
    let host = ports
        .sources
        .of_row(row)
        .and_then(|s| s.bastion_id.as_deref());
    let repo = ports.catalogue();
    crate::retention::retagged::check(store, &blob, &repo, row, &tags, now, host).await
}
