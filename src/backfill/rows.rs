//! The catalogue rows of one listing page of recordings, read with one range query per creation
//! day (1,000 rows a request) instead of one point read per recording: a backfill decides on them
//! as the functions decide on a point read, and a row written meanwhile conflicts and is re-read.
//! The page's joins hold their index rows back ([`Deferred`], shared by the run's recordings walks
//! and written before a checkpoint passes them). The `sessionwindows` rows the page's joins can match are read ahead too
//! ([`HeldWindows`]), one query per start day instead of reads per recording.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::audit_logs::join::HeldWindows;
use crate::catalogue::index::Deferred;
use crate::catalogue::model::{CatalogueEntry, RecordingKey};
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::sources::Source;
use crate::state::AppState;
use crate::storage::BlobItem;
use crate::tables::TableError;

/// A row as read, `None` for one that no longer parses.
type Read = Option<Versioned<CatalogueEntry>>;

/// The rows of a page's recordings, by key (a key without a row has none), and the index rows
/// its joins hold back.
#[derive(Debug, Default)]
pub struct PageRows {
    rows: HashMap<RecordingKey, Read>,
    /// Where the page's joins hold their index rows (written before a checkpoint passes them).
    pub index: Arc<Deferred>,
    /// The index rows of the sessions the page's recordings can match (`None`: too many to hold).
    pub windows: Option<Arc<HeldWindows>>,
}

impl PageRows {
    /// Reads the rows of `items` (recordings of `source`), one `RowKey` range per creation day;
    /// the joins hold their index rows in `index`.
    ///
    /// # Errors
    /// Table errors.
    pub async fn read(
        state: &AppState,
        source: &Source,
        items: &[BlobItem],
        now: OffsetDateTime,
        index: Arc<Deferred>,
    ) -> Result<Self, TableError> {
        let mut days: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut keys = Vec::with_capacity(items.len());
        for item in items {
            let key = key_of(state, source, item, now);
            keys.push((key.clone(), item.props.created.unwrap_or(now)));
            let range = days
                .entry(key.pk)
                .or_insert_with(|| (key.rk.clone(), key.rk.clone()));
            if key.rk < range.0 {
                range.0.clone_from(&key.rk);
            }
            if key.rk > range.1 {
                range.1 = key.rk;
            }
        }
        let repo = CatalogueRepo::new(state.ports.tables.clone());
        let mut rows = HashMap::new();
        for (pk, (from, to)) in days {
            for (rk, row) in repo.range(&pk, &from, &to).await? {
                rows.insert(RecordingKey { pk: pk.clone(), rk }, row);
            }
        }
        // Only recordings still to join can mark or match a session (a re-run reads none).
        let joining = keys
            .into_iter()
            .filter(|(key, _)| match rows.get(key) {
                Some(Some(row)) => !row.raw.contains_key("MatchConfidence"),
                _ => true,
            })
            .map(|(_, created)| created)
            .collect();
        let windows = HeldWindows::read(&crate::state::joiner(state), joining).await?;
        Ok(Self {
            rows,
            index,
            windows: windows.map(Arc::new),
        })
    }

    /// The row of `key` as read (`Some(None)`: there was none); `None` when it must be read alone
    /// (it no longer parses, and the point read reports why).
    pub fn get(&self, key: &RecordingKey) -> Option<Read> {
        match self.rows.get(key) {
            None => Some(None),
            Some(Some(row)) => Some(Some(row.clone())),
            Some(None) => None,
        }
    }
}

/// The catalogue key of a listed recording (as `Recordings::listed` computes it).
pub fn key_of(
    state: &AppState,
    source: &Source,
    item: &BlobItem,
    now: OffsetDateTime,
) -> RecordingKey {
    let created = item.props.created.unwrap_or(now);
    state
        .ports
        .sources
        .recording_key(source, created, &item.name)
}
