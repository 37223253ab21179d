//! Catalogue rows and their keys.
//!
//! **Key scheme of table `recordings`.** `PartitionKey` = the blob's creation day (`YYYY-MM-DD`,
//! UTC, from `x-ms-creation-time`, which unlike event times is stable for the blob's life);
//! `RowKey` = base64url(`container/blob`) for the default recording source, base64url(
//! `account:container/blob`) for any other (two Bastion hosts may record the same name into
//! containers of the same name in different accounts; `:` cannot occur in an account or container
//! name, so the path reads back unambiguously). A path whose encoding would pass the table's 1 KiB
//! key limit (blob names may have 1,024 characters) is keyed `sha256.<hex digest of the path>`
//! instead (`.` is not a base64url character), and the row's `Account`, `Container` and `BlobName`
//! give the blob. Why: every catalogue query is bounded by time (auditors ask "what happened
//! between A and B"), so a range of days is a range of partitions, each read with one
//! partition-scoped query; a recording is addressed by `day~rowkey` without any index; and days
//! spread writes across partitions. Filters by VM or user are served by index rows (catalogue API).
//! Limit: one partition serves ~2,000 entities/s, far above Bastion's recording rate.

use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

use crate::dates::format_date;
use crate::dates::{format_utc, timestamp};
use crate::tables::keys::{decode_key, is_valid_key, key_or_digest};
use crate::tables::{Entity, get_i64, get_str, int64};

/// `Status` of a catalogued recording.
pub const STATUS_CATALOGUED: &str = "catalogued";

/// Prefix of a row key that is a digest of the path, not its encoding ([`key_or_digest`]).
const HASHED: &str = "sha256.";

/// The address of a catalogue row; its text form `YYYY-MM-DD~<rowkey>` is the public recording id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordingKey {
    /// Creation day.
    pub pk: String,
    /// base64url(`[account:]container/blob`), or `sha256.<hex>` for a path too long for a key.
    pub rk: String,
}

/// Where a key's blob lives, as the key spells it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// The account, for sources other than the default one.
    pub account: Option<String>,
    /// Container.
    pub container: String,
    /// Blob name.
    pub name: String,
}

impl RecordingKey {
    /// The key of `container/blob` of the default recording source, created at `created`.
    pub fn for_blob(created: OffsetDateTime, container: &str, blob: &str) -> Self {
        Self::for_source_blob(created, None, container, blob)
    }

    /// The key of `container/blob` created at `created`, in `account` (`None`: the default
    /// recording source, whose keys carry no account).
    pub fn for_source_blob(
        created: OffsetDateTime,
        account: Option<&str>,
        container: &str,
        blob: &str,
    ) -> Self {
        let path = match account {
            Some(a) => [a, ":", container, "/", blob].concat(),
            None => [container, "/", blob].concat(),
        };
        let rk = key_or_digest(&path);
        Self {
            pk: format_date(created.date()),
            rk,
        }
    }

    /// The public id.
    pub fn id(&self) -> String {
        [self.pk.as_str(), "~", &self.rk].concat()
    }

    /// Parses a public id.
    pub fn parse(id: &str) -> Option<Self> {
        let (pk, rk) = id.split_once('~')?;
        let valid_day = pk.len() == 10
            && pk.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        // A key the table service would refuse cannot name a stored row: not an id (a 400, never a
        // storage call that fails and reads as an outage).
        let hashed = rk.strip_prefix(HASHED).is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        });
        let valid_key = hashed || (is_valid_key(rk) && decode_key(rk).is_some());
        (valid_day && valid_key).then(|| Self {
            pk: pk.to_owned(),
            rk: rk.to_owned(),
        })
    }

    /// True when the key is a digest: the blob is named only by the row.
    pub fn is_hashed(&self) -> bool {
        self.rk.starts_with(HASHED)
    }

    /// The blob this key spells out; `None` for a digest key (read the row's `Account`,
    /// `Container` and `BlobName`) or a key that is not ours.
    pub fn blob(&self) -> Option<KeyPath> {
        if self.is_hashed() {
            return None;
        }
        let path = decode_key(&self.rk)?;
        let (head, name) = path.split_once('/')?;
        let (account, container) = match head.split_once(':') {
            Some((a, c)) => (Some(a.to_owned()), c.to_owned()),
            None => (None, head.to_owned()),
        };
        Some(KeyPath {
            account,
            container,
            name: name.to_owned(),
        })
    }
}

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
    fn keys_round_trip_and_reject_garbage() {
        let k = RecordingKey::for_blob(
            datetime!(2025-03-14 23:00 UTC),
            "recordings",
            "a/b=c/PLACEHOLDER-1",
        );
        assert_eq!(k.pk, "2025-03-14");
        assert_eq!(RecordingKey::parse(&k.id()), Some(k.clone()));
        assert_eq!(
            k.blob(),
            Some(KeyPath {
                account: None,
                container: "recordings".into(),
                name: "a/b=c/PLACEHOLDER-1".into()
            })
        );
        for bad in [
            "",
            "2025-03-14",
            "2025-3-14~YQ",
            "abcd-ef-gh~YQ",
            "2025-03-14~!!",
        ] {
            assert_eq!(RecordingKey::parse(bad), None, "{bad}");
        }
        let too_long = format!("2025-03-14~{}", "A".repeat(2000));
        assert_eq!(
            RecordingKey::parse(&too_long),
            None,
            "longer than a table key"
        );
    }

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
    fn other_sources_carry_their_account_and_long_paths_are_digested() {
        let t = datetime!(2025-03-14 23:00 UTC);
        let own = RecordingKey::for_source_blob(t, Some("stneu"), "recordings", "a:b/c");
        let default = RecordingKey::for_blob(t, "recordings", "a:b/c");
        assert_ne!(own, default, "two accounts, one name: two rows");
        let path = own.blob().expect("spelled out");
        assert_eq!(path.account.as_deref(), Some("stneu"));
        assert_eq!(
            (path.container.as_str(), path.name.as_str()),
            ("recordings", "a:b/c")
        );
        assert_eq!(default.blob().and_then(|p| p.account), None);

        let name = "n".repeat(1024);
        let long = RecordingKey::for_source_blob(t, Some("stneu"), "recordings", &name);
        assert!(long.is_hashed() && long.blob().is_none(), "{long:?}");
        assert!(is_valid_key(&long.rk) && long.rk.len() == 71);
        assert_eq!(RecordingKey::parse(&long.id()), Some(long.clone()));
        let other = RecordingKey::for_source_blob(t, Some("stweu"), "recordings", &name);
        assert_ne!(long, other, "the account is part of the digest");
        assert_eq!(RecordingKey::parse("2025-03-14~sha256.XYZ"), None);
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
