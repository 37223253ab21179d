//! Bringing a listed recording blob into the catalogue (shared by `Reconcile` and `handler
//! backfill`): through `RecordingCreated`'s path with a synthesized event, then the join.

use time::OffsetDateTime;

use super::Recordings;
use crate::audit_logs::join::{self, Joiner};
use crate::catalogue::repo::CatalogueRepo;
use crate::events::event_grid::{BLOB_CREATED, BlobEvent, BlobEventData};
use crate::invocation::{HandlerError, Outcome, Outputs};
use crate::sources::Source;
use crate::storage::BlobItem;
use crate::tables::Entity;

/// What [`Recordings::listed`] did with one listed recording.
#[derive(Debug)]
pub enum Fate {
    /// Catalogued and joined already: nothing to do. The row as read, when this call read it.
    Present(Option<Entity>),
    /// Catalogued but not joined: the join was re-run (`true` when it found a match).
    Rejoined(bool),
    /// Catalogued now, through `RecordingCreated`'s path; the outputs it produced (notification,
    /// hash request) keyed by binding.
    Catalogued(Outputs),
}

impl Recordings {
    /// Brings one listed recording blob of `source` into the catalogue: an existing joined row is
    /// left alone, an unjoined one re-joined, a missing one catalogued with a synthesized event
    /// and joined. Idempotent: a second call finds `Present`.
    ///
    /// # Errors
    /// `Retryable` for storage failures.
    pub async fn listed(
        &self,
        join: &Joiner,
        source: &Source,
        item: &BlobItem,
        now: OffsetDateTime,
    ) -> Result<Fate, HandlerError> {
        let (_, key) = self.listed_key(source, item, now);
        // Read once and handed down: cataloguing decides on it, the join starts from the row as
        // written (one catalogue read per recording of a backfill instead of three).
        let row = CatalogueRepo::new(self.ports.tables.clone())
            .get(&key)
            .await?;
        self.listed_over(join, source, item, now, row).await
    }

    /// [`listed`](Self::listed) for a caller that has read the blob's row already (`row`, `None`
    /// when absent; a backfill reads a listing page's rows with one query per day): the same
    /// decisions without reading it again. A row written meanwhile makes the insert conflict, and
    /// one changed meanwhile fails the join's conditional write; both re-read.
    ///
    /// # Errors
    /// `Retryable` for storage failures.
    pub async fn listed_over(
        &self,
        join: &Joiner,
        source: &Source,
        item: &BlobItem,
        now: OffsetDateTime,
        row: Option<crate::catalogue::repo::Versioned<crate::catalogue::model::CatalogueEntry>>,
    ) -> Result<Fate, HandlerError> {
        let (created, key) = self.listed_key(source, item, now);
        match row {
            Some(row) if row.raw.contains_key("MatchConfidence") => {
                Ok(Fate::Present(Some(row.raw)))
            }
            Some(row) => Ok(Fate::Rejoined(
                join::after_write(join, row).await?.is_some(),
            )),
            None => {
                let event = synthesize(source, item, created);
                let ((outcome, written), joined) = self
                    .catalogue_joined(join, source, &event, &item.props, None)
                    .await?;
                match written {
                    // Inserted joined: nothing left to do.
                    Some(_) if joined => None,
                    Some(row) => join::after_write(join, row).await?,
                    // Nothing written (a concurrent delivery's row, or the blob vanished): join
                    // whatever row is there.
                    None => join::after_catalogue(join, &key).await?,
                };
                Ok(match outcome {
                    Outcome::Processed { outputs, .. } => Fate::Catalogued(outputs),
                    // Lost a race with the live function or the blob vanished: someone else owns it.
                    _ => Fate::Present(None),
                })
            }
        }
    }

    /// A listed blob's creation time (`now` when the listing has none) and catalogue key.
    fn listed_key(
        &self,
        source: &Source,
        item: &BlobItem,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, crate::catalogue::model::RecordingKey) {
        let created = item.props.created.unwrap_or(now);
        let key = self
            .ports
            .sources
            .recording_key(source, created, &item.name);
        (created, key)
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
        },
    }
}
