//! A listed recording blob catalogued through `RecordingCreated`'s path (`Reconcile`, backfill).

use time::OffsetDateTime;

use super::created::Recordings;
use super::ingest::Catalogued;
use crate::azure::AzureError;
use crate::catalogue::recording::Recording;
use crate::catalogue::repo::Versioned;
use crate::catalogue::row_source::BlobKey;
use crate::events::event_grid::{BLOB_CREATED, BlobEvent, BlobEventData};
use crate::sources::Source;
use crate::storage::BlobItem;

/// What [`Recordings::listed`] did with one listed recording.
#[derive(Debug)]
pub enum Fate {
    /// Catalogued already: nothing to do.
    Present,
    /// Catalogued now: what it did, found and asks of `RecordingHash`.
    Catalogued(Catalogued),
}

impl Recordings {
    /// Brings one listed recording blob of `source` into the catalogue: a row already there is
    /// left alone (the join decides it), a missing one is catalogued with a synthesized event.
    /// `row`: its row as the caller read it (`Some(None)`: absent), `None` to read it here.
    /// Idempotent: a second call finds `Present`.
    ///
    /// # Errors
    /// The port's error on a storage fault.
    pub async fn listed(
        &self,
        source: &Source,
        item: &BlobItem,
        now: OffsetDateTime,
        row: Option<Option<Versioned<Recording>>>,
    ) -> Result<Fate, AzureError> {
        let created = item.props.created.unwrap_or(now);
        let row = match row {
            Some(row) => row,
            None => {
                let key = source.key(created, &item.name);
                self.ports.catalogue().get(&key).await?
            }
        };
        if row.is_some() {
            return Ok(Fate::Present);
        }
        let event = synthesize(source, item, created);
        let done = self.catalogue(source, &event, &item.props, None).await?;
        // Skipped: lost a race with the live function or the blob vanished: someone else owns it.
        Ok(if done.handled.skipped {
            Fate::Present
        } else {
            Fate::Catalogued(done)
        })
    }
}

/// A `BlobCreated` event for a blob found by listing (no sequencer: the ETag and time decide).
pub fn synthesize(source: &Source, item: &BlobItem, created: OffsetDateTime) -> BlobEvent {
    let account = source.account().to_owned();
    let container = source.container.clone();
    BlobEvent {
        id: format!("reconcile:{}", item.props.etag),
        event_type: BLOB_CREATED.to_owned(),
        time: created,
        account: account.clone(),
        container: container.clone(),
        blob: item.name.clone(),
        data: BlobEventData {
            api: "Reconcile".to_owned(),
            e_tag: Some(item.props.etag.clone()),
            content_type: item.props.content_type.clone(),
            content_length: Some(item.props.content_length),
            blob_type: item.props.kind.map(|k| k.as_str().to_owned()),
            url: format!(
                "https://{account}.blob.core.windows.net/{container}/{}",
                item.name
            ),
            sequencer: None,
            request_id: None,
        },
    }
}
