//! Index rows read ahead for many recordings joined together (a backfill page): one query per
//! start day for every session that can match any of them, instead of each recording's own
//! time-window queries; and for the sessions the page's joins mark pending, their start day read
//! whole once, instead of a read before every mark. A mark then writes conditionally on the row as
//! held (one changed since fails the write and is read again, as
//! [`update_from`](crate::tables::ops::update_from) does), and the row it wrote replaces the one
//! held, so the next mark of that session starts from its current ETag.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::Joiner;
use super::lookup::windows_within;
use crate::audit_logs::repo::{WINDOWS_TABLE, WindowRow};
use crate::tables::ops::query_all;
use crate::tables::{Filter, Stored, TableError, TableStore, get_str};

/// Most rows held: a page whose sessions are more is joined recording by recording instead.
const MAX_HELD: usize = 20_000;

/// The index rows of every session that can match the recordings of one page.
#[derive(Debug, Default)]
pub struct HeldWindows {
    /// Every row as read (what the time-window match compares).
    rows: Vec<WindowRow>,
    /// Each row's latest stored version by tunnel id, with its start day (what marks write on).
    stored: Mutex<HashMap<String, (String, Stored)>>,
    /// Start days read whole for marks, or found too large to hold: each is read once, by the
    /// first mark that needs it, while the others wait for it.
    days: tokio::sync::Mutex<HashSet<String>>,
}

impl HeldWindows {
    /// Reads the index rows of every session that can match a recording created at one of
    /// `created` (one query per start day of each run of creation times less than a day apart);
    /// `None` when they are more than can be held.
    ///
    /// # Errors
    /// Table errors.
    pub async fn read(
        join: &Joiner,
        mut created: Vec<OffsetDateTime>,
    ) -> Result<Option<Self>, TableError> {
        created.sort();
        let mut read = Vec::new();
        let mut times = created.into_iter().peekable();
        while let Some(from) = times.next() {
            let mut to = from;
            while let Some(t) = times.next_if(|t| *t - to < Duration::days(1)) {
                to = t;
            }
            read.extend(windows_within(join, from, to, MAX_HELD + 1).await?);
            if read.len() > MAX_HELD {
                return Ok(None);
            }
        }
        let mut stored = HashMap::with_capacity(read.len());
        let mut rows = Vec::with_capacity(read.len());
        for (row, s) in read {
            if let Some(pk) = get_str(&s.entity, "PartitionKey") {
                stored.insert(row.tunnel_id.clone(), (pk.to_owned(), s));
            }
            rows.push(row);
        }
        Ok(Some(Self {
            rows,
            stored: Mutex::new(stored),
            days: tokio::sync::Mutex::default(),
        }))
    }

    /// Every row held (a superset of what any one recording of the page can match).
    pub(super) fn rows(&self) -> &[WindowRow] {
        &self.rows
    }

    /// The row of `tunnel` as last read or written, with its start day.
    pub(super) fn stored(&self, tunnel: &str) -> Option<(String, Stored)> {
        self.stored
            .lock()
            .expect("held index rows")
            .get(tunnel)
            .cloned()
    }

    /// The row of `tunnel` under start day `pk` for a mark: as held, else from one read of the whole
    /// day (the first time a mark needs it); `None` when the day holds more rows than can be held
    /// (the mark reads its row alone) or none of `tunnel`.
    ///
    /// # Errors
    /// Table errors.
    pub(super) async fn on_day(
        &self,
        tables: &dyn TableStore,
        pk: &str,
        tunnel: &str,
    ) -> Result<Option<Stored>, TableError> {
        let mut days = self.days.lock().await;
        if days.insert(pk.to_owned()) {
            let room = MAX_HELD.saturating_sub(self.stored.lock().expect("held index rows").len());
            let read = query_all(tables, WINDOWS_TABLE, &Filter::partition(pk), room + 1).await?;
            if read.len() <= room {
                let mut stored = self.stored.lock().expect("held index rows");
                for row in read {
                    if let Some(t) = get_str(&row.entity, "RowKey") {
                        // A version a mark wrote since is newer than this read: kept.
                        stored
                            .entry(t.to_owned())
                            .or_insert_with(|| (pk.to_owned(), row));
                    }
                }
            }
        }
        drop(days);
        Ok(self.stored(tunnel).filter(|(p, _)| p == pk).map(|(_, r)| r))
    }

    /// Replaces the row of `tunnel` with the version just written.
    pub(super) fn written(&self, tunnel: &str, pk: &str, row: Stored) {
        self.stored
            .lock()
            .expect("held index rows")
            .insert(tunnel.to_owned(), (pk.to_owned(), row));
    }
}
