//! `--bastion` for the rows that name no host: a hold, tombstone or access-audit row is a host's
//! through the recording it is about, whose catalogue row (kept after deletion) names the host.

use std::collections::HashMap;

use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::recording::{Recording, RecordingKey};
use crate::retention::hold::{HOLDS_TABLE, member_pk};
use crate::tables::ops::{get, query_all};
use crate::tables::{Filter, TableStore};

/// Answers cached per recording id before the cache is dropped (bounds memory over a month).
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
    /// An access-audit row's target: a recording, or a pack (`evidence …`).
    Access(&'a str),
}

/// Decides which rows belong to one Bastion host.
pub struct HostFilter {
    /// The host, lower-cased.
    bastion: String,
    /// Recording id → of the host.
    cache: HashMap<String, bool>,
}

/// True when the row `about` describes is `host`'s (always without one: a pack of every host).
///
/// # Errors
/// Storage failures.
pub async fn keeps(
    host: Option<&mut HostFilter>,
    tables: &dyn TableStore,
    about: About<'_>,
) -> anyhow::Result<bool> {
    let Some(host) = host else { return Ok(true) };
    match about {
        About::Hold(id) => {
            let members = Filter::partition(&member_pk(id));
            for m in query_all(tables, HOLDS_TABLE, &members, MEMBERS).await? {
                if let Some(rec) = RecordingKey::of_row(&m.entity)
                    && host.recording(tables, &rec.id()).await?
                {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        About::Access(target) if target.starts_with("evidence ") => {
            Ok(target.split(' ').any(|p| p == host.pack_target()))
        }
        About::Recording(id) | About::Access(id) => host.recording(tables, id).await,
    }
}

impl HostFilter {
    /// Rows of `bastion` (compared case-insensitively).
    pub fn new(bastion: &str) -> Self {
        Self {
            bastion: bastion.to_lowercase(),
            cache: HashMap::new(),
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

    /// True when recording `id` is catalogued under this host.
    async fn recording(&mut self, tables: &dyn TableStore, id: &str) -> anyhow::Result<bool> {
        if let Some(known) = self.cache.get(id) {
            return Ok(*known);
        }
        let row = match RecordingKey::parse(id) {
            Some(key) => get(tables, RECORDINGS_TABLE, &key.pk, &key.rk).await?,
            None => None,
        };
        let of_host = row
            .and_then(|s| Recording::from_entity(&s.entity))
            .is_some_and(|r| self.is(r.bastion()));
        if self.cache.len() >= CACHED {
            self.cache.clear();
        }
        self.cache.insert(id.to_owned(), of_host);
        Ok(of_host)
    }
}
