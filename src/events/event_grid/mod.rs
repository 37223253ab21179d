//! Event Grid (`eventType`, `eventTime`, `topic`) and CloudEvents 1.0 (`type`, `time`, `source`)
//! blob events (`BlobCreated`, `BlobDeleted`), normalised into one [`BlobEvent`]. A `BlobDeleted`
//! carries no `eTag` and no `contentLength` (newer samples do; they are read when present).
//!
//! Quirks handled here (both occur in Microsoft's published samples): `subject` with or without a leading `/`;
//! quoted or unquoted `eTag`; `specversion` or `specVersion`; the account named in `topic`/`source`
//! or, failing that, in `data.url`.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::OffsetDateTime;

use crate::dates::timestamp;
use crate::json_shape::ObjectOr;
use crate::storage::normalize_etag;
use crate::storage::url::BlobUrl;

/// `Microsoft.Storage.BlobCreated`.
pub const BLOB_CREATED: &str = "Microsoft.Storage.BlobCreated";
/// `Microsoft.Storage.BlobDeleted`.
pub const BLOB_DELETED: &str = "Microsoft.Storage.BlobDeleted";

/// The event as sent, borrowing its text from the decoded binding (no intermediate `Value` copy:
/// this runs on every invocation).
#[derive(Debug, Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    // Event Grid schema
    #[serde(rename = "eventType", borrow)]
    event_type: Option<Cow<'a, str>>,
    #[serde(rename = "eventTime", borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    topic: Option<Cow<'a, str>>,
    // CloudEvents 1.0
    #[serde(rename = "type", borrow)]
    ce_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subject: Option<Cow<'a, str>>,
    /// `None` when `data` is absent or not an object (then defaults apply, as before).
    #[serde(default, deserialize_with = "object_or_none")]
    data: Option<BlobEventData>,
}

/// Deserializes `data` when it is an object; any other JSON value (null, string, …) is `None`.
fn object_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BlobEventData>, D::Error> {
    ObjectOr::deserialize(d).map(ObjectOr::object)
}

/// The `data` of a blob event (fields the product reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlobEventData {
    /// Storage API that raised the event (`PutBlob`, `PutBlockList`, `CopyBlob`, …).
    pub api: String,
    /// ETag (quotes removed after normalisation).
    pub e_tag: Option<String>,
    /// Content type at event time.
    pub content_type: Option<String>,
    /// Length at event time; 0 for a fresh append blob.
    pub content_length: Option<u64>,
    /// `BlockBlob` / `AppendBlob` / `PageBlob`.
    pub blob_type: Option<String>,
    /// Full blob URL.
    pub url: String,
    /// Per-blob ordering token; compare ordinally.
    pub sequencer: Option<String>,
    /// The storage request that raised the event (`x-ms-request-id`).
    pub request_id: Option<String>,
}

/// A blob event in one shape, whatever schema delivered it.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobEvent {
    /// Event id (not an idempotency key on its own: see `sequencer`).
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// Event time.
    pub time: OffsetDateTime,
    /// Storage account name, from `topic`/`source`, else from `data.url`.
    pub account: String,
    /// Container name from the subject.
    pub container: String,
    /// Blob name from the subject (may contain `/`).
    pub blob: String,
    /// The event's data.
    pub data: BlobEventData,
}

/// Why an event is not a blob-created or blob-deleted event: [`EventError::OtherType`] is skipped, the rest poison.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    /// A required field is absent.
    #[error("event field `{0}` is missing")]
    Missing(&'static str),
    /// A field is present but unusable.
    #[error("event field `{0}` is malformed")]
    Malformed(&'static str),
    /// A well-formed event of another type (inventory or lifecycle runs, custom events): not ours,
    /// so not poison, whatever its subject and data look like.
    #[error("event type {0} is not handled")]
    OtherType(String),
}

impl BlobEvent {
    /// Normalises an event object (either schema).
    ///
    /// # Errors
    /// `EventError` when id, type, time, subject or the account cannot be determined.
    pub fn from_value(v: &Value) -> Result<Self, EventError> {
        Self::from_raw(RawEvent::deserialize(v).map_err(|_| EventError::Malformed("event"))?)
    }

    /// Normalises an event given as JSON text (either schema), without an intermediate `Value`.
    ///
    /// # Errors
    /// As [`from_value`](Self::from_value).
    pub fn from_json(text: &str) -> Result<Self, EventError> {
        Self::from_raw(serde_json::from_str(text).map_err(|_| EventError::Malformed("event"))?)
    }

    fn from_raw(raw: RawEvent<'_>) -> Result<Self, EventError> {
        let id = raw
            .id
            .filter(|s| !s.is_empty())
            .ok_or(EventError::Missing("id"))?
            .into_owned();
        let event_type = raw
            .event_type
            .or(raw.ce_type)
            .ok_or(EventError::Missing("eventType"))?
            .into_owned();
        // Before any blob-specific field: other types carry other subjects and data.
        if event_type != BLOB_CREATED && event_type != BLOB_DELETED {
            return Err(EventError::OtherType(event_type));
        }
        let time_text = raw
            .event_time
            .or(raw.time)
            .ok_or(EventError::Missing("eventTime"))?;
        let time = timestamp(&time_text).ok_or(EventError::Malformed("eventTime"))?;
        let subject = raw.subject.ok_or(EventError::Missing("subject"))?;
        let (container, blob) = split_subject(&subject).ok_or(EventError::Malformed("subject"))?;
        let mut data = raw.data.unwrap_or_default();
        if let Some(e) = &mut data.e_tag {
            let trimmed = normalize_etag(e);
            if trimmed.len() != e.len() {
                *e = trimmed.to_owned();
            }
        }
        let account = raw
            .topic
            .or(raw.source)
            .and_then(|t| account_from_topic(&t))
            .or_else(|| BlobUrl::account_of(&data.url))
            .ok_or(EventError::Missing("topic"))?;
        Ok(Self {
            id,
            event_type,
            time,
            account,
            container,
            blob,
            data,
        })
    }

    /// True for `Microsoft.Storage.BlobCreated`.
    pub fn is_created(&self) -> bool {
        self.event_type == BLOB_CREATED
    }

    /// True for `Microsoft.Storage.BlobDeleted`.
    pub fn is_deleted(&self) -> bool {
        self.event_type == BLOB_DELETED
    }
}

/// Splits `/blobServices/default/containers/<c>/blobs/<name>` (leading `/` optional).
pub fn split_subject(subject: &str) -> Option<(String, String)> {
    let s = subject.strip_prefix('/').unwrap_or(subject);
    let rest = s.strip_prefix("blobServices/default/containers/")?;
    let (container, blob) = rest.split_once("/blobs/")?;
    (!container.is_empty() && !blob.is_empty()).then(|| (container.to_owned(), blob.to_owned()))
}

/// The account in `/subscriptions/…/providers/Microsoft.Storage/storageAccounts/<name>`.
pub fn account_from_topic(topic: &str) -> Option<String> {
    // Segment by segment, case-insensitively, without lower-casing a copy (runs on every event).
    let mut segments = topic.split('/');
    segments.find(|s| s.eq_ignore_ascii_case("storageAccounts"))?;
    let name = segments.next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Compares two sequencers ordinally (no case folding, as documented); longer (unpadded) values are larger.
pub fn sequencer_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests;
