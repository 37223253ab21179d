//! The review queue: the sessions that still need a human, ranked by risk ([`risk`]), with the
//! reasons shown, kept as an index so reading it never scans the sessions.
//!
//! | table | PK | RK | what |
//! |---|---|---|---|
//! | `reviewqueue` | one of [`SHARDS`] partitions, by the tunnel id ([`partition_of`]) | `(9999 − score)` `~` start `~` tunnelId | one row per queued session: the partitions' tops, merged, answer `GET /api/reviews/queue` |
//! | `reviewindex` | session start day | tunnelId | what the queue last derived for a session: the inputs' digest, its queue row's partition and key, the first-to-VM flag, the overdue marker |
//! | `reviewpairs` | base64url(user `|` VM) | `seen` | recent session starts of a user to a VM (30 days), for "first in 30 days" |
//!
//! [`index::refresh`] (timer `ReviewQueue`) reads the `sessionwindows` partitions of recent days
//! and re-derives only the sessions whose inputs changed (digest differs). Index and queue rows
//! are written in batches of up to 100 (one partition each), so a tick costs a few partition
//! queries, a call per 100 changed sessions and two per (user, VM) pair with new sessions (the
//! first-to-VM record). A review removes its session's queue row
//! ([`index::withdraw`]). [`overdue`] raises `review.overdue` once per session.

pub mod index;
pub mod overdue;
pub mod read;
pub mod risk;

use serde_json::Value;
use time::OffsetDateTime;

use crate::dates::timestamp;
use crate::tables::{Entity, get_str};

/// Queued sessions.
pub const QUEUE_TABLE: &str = "reviewqueue";
/// What the queue derived per session.
pub const INDEX_TABLE: &str = "reviewindex";
/// Recent starts per (user, VM).
pub const PAIRS_TABLE: &str = "reviewpairs";
/// The queue's first partition; rows written before the queue was split into [`SHARDS`]
/// partitions are all here, so they are read and removed like the others.
pub const OPEN: &str = "open";
/// Queue partitions. One partition is Azure's unit of throughput (about 2,000 entities/s) and the
/// emulator's batch cost grows with its size, so a month of queued sessions is spread out; a read
/// costs one query per partition, in parallel.
pub const SHARDS: usize = 16;

/// The queue partition of a session: a stable hash of its tunnel id.
pub fn partition_of(tunnel: &str) -> String {
    use sha2::Digest as _;
    let shard = usize::from(sha2::Sha256::digest(tunnel.as_bytes())[0]) % SHARDS;
    partition(shard)
}

/// The name of queue partition `shard`.
pub fn partition(shard: usize) -> String {
    match shard {
        0 => OPEN.to_owned(),
        n => format!("{OPEN}-{n:02}"),
    }
}

/// A session as the queue sees it (from a `sessionwindows` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Tunnel id.
    pub tunnel: String,
    /// `sessionwindows` partition.
    pub day: String,
    /// Start (or first record).
    pub start: OffsetDateTime,
    /// End, when known.
    pub end: Option<OffsetDateTime>,
    /// Bastion host.
    pub host: String,
    /// Target VM.
    pub vm: String,
    /// The user: VM user name, else portal e-mail.
    pub user: String,
    /// Client address.
    pub ip: String,
    /// `connected`, `login-failed`, …
    pub outcome: String,
    /// A recording names it.
    pub recorded: bool,
    /// Its join is being derived again.
    pub pending: bool,
    /// Recordings naming it.
    pub recording_ids: String,
}

impl Session {
    /// Reads a `sessionwindows` entity.
    pub fn from_window(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let user = Some(s("UserName"))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| s("UserEmail"));
        Some(Self {
            tunnel: s("RowKey"),
            day: s("PartitionKey"),
            start: get_str(e, "Start").and_then(timestamp)?,
            end: get_str(e, "End").and_then(timestamp),
            host: s("BastionHost"),
            vm: s("TargetVm"),
            user,
            ip: s("ClientIp"),
            outcome: s("Outcome"),
            recorded: e.get("Recorded").and_then(Value::as_bool).unwrap_or(false),
            pending: get_str(e, "JoinFrom").is_some_and(|v| !v.is_empty()),
            recording_ids: s("RecordingIds"),
        })
    }

    /// The digest of everything the score depends on (with the settings' digest).
    pub fn digest(&self, reviewed: bool, settings: &str) -> String {
        let t = |v: Option<OffsetDateTime>| v.map(crate::dates::format_utc_millis);
        let text = format!(
            "{:?}|{:?}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            t(Some(self.start)),
            t(self.end),
            self.host,
            self.vm,
            self.user,
            self.ip,
            self.outcome,
            self.recorded,
            self.pending,
            reviewed,
            settings
        );
        crate::notify::message::stable_id("reviewqueue", &text)
    }
}

#[cfg(test)]
mod batched_tests;
#[cfg(test)]
mod partition_tests;
#[cfg(test)]
mod tests;
