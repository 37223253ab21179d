//! `--bastion` for the rows that name no host themselves: a hold, a tombstone or an access-audit
//! row belongs to a Bastion host through the recording it is about, whose catalogue row (kept after
//! a deletion, with `Status=deleted`) names the host as the listings' `bastion` filter reads it
//! (`BastionHost`, else `SourceBastion`). A row about no recording of the host (another host's, an
//! unknown id, a pack download of every host) is not that host's evidence.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::recording::RecordingKey;
use crate::retention::hold::HOLDS_TABLE;
use crate::tables::ops::{get, query_all};
use crate::tables::{Filter, TableStore, get_str};

/// Answers cached per recording id before the cache is dropped (an access audit reads the same
/// recordings again and again; the bound keeps a month of distinct ids from growing without end).
const CACHED: usize = 50_000;
/// Hold members read per hold (a bulk hold of more recordings is judged by these).
const MEMBERS: usize = 100_000;

/// What a row is about.
#[derive(Debug, Clone, Copy)]
pub enum About<'a> {
    /// A hold (by id).
    Hold(&'a str),
    /// A recording (by id): a tombstone's.
    Recording(&'a str),
    /// An access-audit row's target.
    Access(&'a str),
}

/// Decides which rows belong to one Bastion host.
pub struct HostFilter {
    /// The host, lower-cased.
    bastion: String,
    /// Recording id → of the host.
    cache: Mutex<HashMap<String, bool>>,
}

impl HostFilter {
    /// Rows of `bastion` (compared case-insensitively).
    pub fn new(bastion: &str) -> Self {
        Self {
            bastion: bastion.to_lowercase(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// True when `host` (a session's or recording's host) is this host.
    pub fn is(&self, host: &str) -> bool {
        host.to_lowercase() == self.bastion
    }

    /// The audit target of a pack of this host (`evidence …` rows name the host they were cut for).
    pub fn pack_target(&self) -> String {
        format!("bastion={}", self.bastion)
    }

    /// True when the row `about` describes is this host's.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn about(&self, tables: &dyn TableStore, about: About<'_>) -> anyhow::Result<bool> {
        match about {
            About::Hold(id) => self.hold(tables, id).await,
            About::Recording(id) => self.recording(tables, id).await,
            About::Access(target) => self.access(tables, target).await,
        }
    }

    /// True when recording `id` is catalogued under this host.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn recording(&self, tables: &dyn TableStore, id: &str) -> anyhow::Result<bool> {
        if let Some(known) = self.cached(id)? {
            return Ok(known);
        }
        let Some(key) = RecordingKey::parse(id) else {
            return Ok(false);
        };
        let row = get(tables, RECORDINGS_TABLE, &key.pk, &key.rk).await?;
        let of_host = row.is_some_and(|s| {
            ["BastionHost", "SourceBastion"]
                .iter()
                .filter_map(|p| get_str(&s.entity, p))
                .find(|h| !h.is_empty())
                .is_some_and(|h| self.is(h))
        });
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))?;
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(id.to_owned(), of_host);
        Ok(of_host)
    }

    fn cached(&self, id: &str) -> anyhow::Result<Option<bool>> {
        Ok(self
            .cache
            .lock()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))?
            .get(id)
            .copied())
    }

    /// True when hold `id` holds at least one recording of this host.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn hold(&self, tables: &dyn TableStore, id: &str) -> anyhow::Result<bool> {
        let members = query_all(
            tables,
            HOLDS_TABLE,
            &Filter::partition(&crate::retention::hold::member_pk(id)),
            MEMBERS,
        )
        .await?;
        for m in &members {
            if let Some(rec) = crate::catalogue::recording::RecordingKey::of_row(&m.entity)
                && self.recording(tables, &rec.id()).await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// True when an access-audit row's `target` is about this host: a recording of it, or a pack
    /// cut for it.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn access(&self, tables: &dyn TableStore, target: &str) -> anyhow::Result<bool> {
        if let Some(period) = target.strip_prefix("evidence ") {
            return Ok(period.split(' ').any(|p| p == self.pack_target()));
        }
        self.recording(tables, target).await
    }
}
