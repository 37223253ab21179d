//! The catalogue rows of one listing page of recordings, read with one range query per creation
//! day (1,000 rows a request) instead of one point read per recording: a backfill decides on them
//! as the functions decide on a point read, and a row written meanwhile conflicts and is re-read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::catalogue::recording::{Recording, RecordingKey};
use crate::catalogue::repo::Versioned;
use crate::catalogue::row_source::BlobKey;
use crate::sources::Source;
use crate::state::AppState;
use crate::storage::BlobItem;

/// A row as read, `None` for one that no longer parses.
type Read = Option<Versioned<Recording>>;

/// The rows of a page's recordings, by key (a key without a row has none).
#[derive(Debug, Default)]
pub struct PageRows {
    rows: HashMap<RecordingKey, Read>,
}

impl PageRows {
    /// Reads the rows of `items` (recordings of `source`), one `RowKey` range per creation day.
    ///
    /// # Errors
    /// Table errors.
    pub async fn read(
        state: &AppState,
        source: &Source,
        items: &[BlobItem],
        now: OffsetDateTime,
    ) -> Result<Self, AzureError> {
        let mut days: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for item in items {
            let key = key_of(source, item, now);
            days.entry(key.pk).or_default().insert(key.rk);
        }
        let repo = state.ports.catalogue();
        let mut rows = HashMap::new();
        for (pk, keys) in days {
            let (Some(from), Some(to)) = (keys.first(), keys.last()) else {
                continue;
            };
            for (rk, row) in repo.range(&pk, from, to).await? {
                rows.insert(RecordingKey { pk: pk.clone(), rk }, row);
            }
        }
        Ok(Self { rows })
    }

    /// The row of `key` as read (`Some(None)`: absent); `None` when it must be read alone (it no
    /// longer parses, and the point read reports why).
    pub fn get(&self, key: &RecordingKey) -> Option<Read> {
        match self.rows.get(key) {
            None => Some(None),
            Some(Some(row)) => Some(Some(row.clone())),
            Some(None) => None,
        }
    }
}

/// The catalogue key of a listed recording (as `Recordings::listed` computes it).
pub fn key_of(source: &Source, item: &BlobItem, now: OffsetDateTime) -> RecordingKey {
    let created = item.props.created.unwrap_or(now);
    source.key(created, &item.name)
}
