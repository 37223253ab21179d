//! Catalogue rows and their keys.
//!
//! The key scheme is in [`super::key`].

use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

use crate::dates::{format_utc, timestamp};
use crate::tables::{Entity, get_i64, get_str, int64};

pub use super::key::{KeyPath, RecordingKey};

/// `Status` of a catalogued recording.
pub const STATUS_CATALOGUED: &str = "catalogued";

/// The time a row sorts and filters by: `SessionStart` when joined, else `BlobCreated`.
pub fn sort_time(e: &Entity) -> Option<OffsetDateTime> {
    ["SessionStart", "BlobCreated"]
        .iter()
        .find_map(|k| get_str(e, k).filter(|s| !s.is_empty()).and_then(timestamp))
}

/// The first and last partition (creation day) that can hold a row whose [`sort_time`] lies on a
/// day from `first` to `last`: one more on each side. A row lives under its blob's creation day,
/// but its sort time can fall on a neighbouring day: a session that began before midnight may be
/// recorded after it, and an event is raised a moment after the blob's creation, perhaps past
/// midnight. Reading only the sort days would hide such a row from every selection that does not
/// span both days. (A session recorded more than a day after it began is still missed.)
pub fn partition_days(first: Date, last: Date) -> (Date, Date) {
    (
        first.previous_day().unwrap_or(first),
        last.next_day().unwrap_or(last),
    )
}

/// A recording's catalogue row (the public schema is documented in the README).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueEntry {
    /// Row key.
    pub key: RecordingKey,
    /// Full blob URL as the event reported it.
    pub blob_url: String,
    /// Storage account of the recording source (empty in rows written before several sources
    /// existed, which belong to the default source).
    pub account: String,
    /// The Bastion host the source is tied to (`SourceBastion`; empty when the configuration
    /// names none). The joined session's host is `BastionHost`, written by the join.
    pub source_bastion: String,
    /// Container.
    pub container: String,
    /// Blob name.
    pub blob_name: String,
    /// Size in bytes.
    pub content_length: u64,
    /// Content type.
    pub content_type: String,
    /// Blob type (`BlockBlob`, `AppendBlob`).
    pub blob_type: String,
    /// ETag of the catalogued state.
    pub etag: String,
    /// Sequencer of the event that produced this state.
    pub sequencer: String,
    /// Event id of that event.
    pub event_id: String,
    /// Event time of that event.
    pub blob_created: OffsetDateTime,
    /// When the blob was first catalogued (kept across updates).
    pub first_seen: OffsetDateTime,
    /// Retention class.
    pub retention_class: String,
    /// Retain-until date.
    pub retain_until: String,
    /// GUIDs found in the name and metadata: candidate session keys (tunnelId).
    pub candidate_keys: Vec<String>,
    /// Blob metadata, as JSON text.
    pub metadata: String,
    /// `catalogued` (later `deleted`).
    pub status: String,
}

impl CatalogueEntry {
    /// The table entity.
    pub fn to_entity(&self) -> Entity {
        let mut e = match json!({
            "PartitionKey": self.key.pk, "RowKey": self.key.rk,
            "RecordingId": self.key.id(),
            "BlobUrl": self.blob_url, "Account": self.account, "SourceBastion": self.source_bastion,
            "Container": self.container, "BlobName": self.blob_name,
            "ContentType": self.content_type, "BlobType": self.blob_type, "ETag": self.etag,
            "Sequencer": self.sequencer, "EventId": self.event_id,
            "BlobCreated": format_utc(self.blob_created), "FirstSeen": format_utc(self.first_seen),
            "RetentionClass": self.retention_class, "RetainUntil": self.retain_until,
            "CandidateKeys": self.candidate_keys.join(","), "Metadata": self.metadata, "Status": self.status,
        }) {
            Value::Object(m) => m,
            _ => Entity::new(),
        };
        int64(
            &mut e,
            "ContentLength",
            i64::try_from(self.content_length).unwrap_or(i64::MAX),
        );
        e
    }

    /// Reads a row back; `None` if required properties are missing.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let t = |k: &str| get_str(e, k).and_then(crate::dates::timestamp);
        Some(Self {
            key: RecordingKey {
                pk: get_str(e, "PartitionKey")?.to_owned(),
                rk: get_str(e, "RowKey")?.to_owned(),
            },
            blob_url: s("BlobUrl"),
            // Empty for rows written before sources named their account: the default source's.
            account: s("Account"),
            source_bastion: s("SourceBastion"),
            container: s("Container"),
            blob_name: s("BlobName"),
            content_length: get_i64(e, "ContentLength")
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(0),
            content_type: s("ContentType"),
            blob_type: s("BlobType"),
            etag: s("ETag"),
            sequencer: s("Sequencer"),
            event_id: s("EventId"),
            blob_created: t("BlobCreated")?,
            first_seen: t("FirstSeen")?,
            retention_class: s("RetentionClass"),
            retain_until: s("RetainUntil"),
            candidate_keys: s("CandidateKeys")
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
            metadata: s("Metadata"),
            status: s("Status"),
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn entries_round_trip_through_entities() {
        let t = datetime!(2025-03-14 09:42:17 UTC);
        let entry = CatalogueEntry {
            key: RecordingKey::for_blob(t, "recordings", "x"),
            blob_url: "https://a.blob.core.windows.net/recordings/x".into(),
            account: "a".into(),
            source_bastion: "bas-hub-weu".into(),
            container: "recordings".into(),
            blob_name: "x".into(),
            content_length: 5_000_000_000,
            content_type: "application/octet-stream".into(),
            blob_type: "BlockBlob".into(),
            etag: "0x1".into(),
            sequencer: "01".into(),
            event_id: "e".into(),
            blob_created: t,
            first_seen: t,
            retention_class: "ops-30d".into(),
            retain_until: "2025-04-13".into(),
            candidate_keys: vec!["5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f".into()],
            metadata: "{}".into(),
            status: STATUS_CATALOGUED.into(),
        };
        let mut e = entry.to_entity();
        assert_eq!(e["ContentLength@odata.type"], "Edm.Int64");
        crate::tables::strip_annotations(&mut e);
        assert_eq!(CatalogueEntry::from_entity(&e), Some(entry));
    }

    #[test]
    fn rows_without_an_account_have_none() {
        let mut e = Entity::new();
        for (k, v) in [
            ("PartitionKey", "2025-03-14"),
            ("RowKey", "cmVjb3JkaW5ncy94"),
            (
                "BlobUrl",
                "http://127.0.0.1:10000/devstoreaccount1/recordings/x",
            ),
            ("BlobCreated", "2025-03-14T09:42:17Z"),
            ("FirstSeen", "2025-03-14T09:42:17Z"),
        ] {
            e.insert(k.into(), v.into());
        }
        let entry = CatalogueEntry::from_entity(&e).expect("row");
        assert_eq!(
            entry.account, "",
            "the default source's, whatever the URL says"
        );
    }
}
