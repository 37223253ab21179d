//! What tailing needs ([`Tailer`], built by its caller), what a tick's listing found ([`Listed`])
//! and what the tick did ([`TickReport`], summed over each blob's [`BlobReport`]).

use std::sync::Arc;

use time::OffsetDateTime;

use crate::audit_logs::repo::Cursor;
use crate::audit_logs::sessions::SessionRecord;
use crate::audit_logs::settings::AuditSettings;
use crate::catalogue::days::Span;
use crate::catalogue::policy::Policy;
use crate::invocation::Quarantine;
use crate::ports::Ports;
use crate::sources::Source;
use crate::spine::Finding;

/// The creation times of recordings a session change affects (its old and new state), for the
/// session writer to mark pending: the join's rule, handed in by whoever builds the [`Tailer`].
pub type Affected = dyn Fn(Option<&SessionRecord>, &SessionRecord) -> Option<Span> + Send + Sync;

/// The tail's dependencies.
#[derive(Clone)]
pub struct Tailer {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// Where corrupt lines go.
    pub quarantine: Quarantine,
    /// `RETENTION_CLASS_AUDITLOGS`: the class a new hour blob is tagged with.
    pub retention_class: String,
    /// The retention policy a new hour blob is tagged by.
    pub policy: Arc<Policy>,
    /// `AUDIT_*` and detection settings.
    pub settings: Arc<AuditSettings>,
    /// What a session change leaves pending for the join.
    pub affected: Arc<Affected>,
}

/// What the listings found and did.
#[derive(Debug, Default)]
pub struct Listed {
    /// Blobs to read, each with its source.
    pub grown: Vec<(Source, Growth)>,
    /// Hosts listed.
    pub hosts: usize,
    /// Hosts whose listing (or a check it needed) failed.
    pub failed: usize,
    /// Hour blobs found without a cursor and registered.
    pub registered: usize,
}

/// A blob that grew: what is to be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    /// Its cursor, as read.
    pub cursor: Cursor,
    /// Its length as listed.
    pub length: u64,
    /// When its unread growth began, as far as known: the `GrownAt` an earlier tick left, else
    /// the blob's last write (the oldest growth is read first).
    pub since: OffsetDateTime,
}

/// What reading one blob did, summed over its chunks.
#[derive(Debug, Default)]
pub struct BlobReport {
    /// Bytes read.
    pub bytes: u64,
    /// Records parsed (and written).
    pub records: u64,
    /// Corrupt lines quarantined.
    pub corrupt: u64,
    /// Session rows changed.
    pub sessions: usize,
    /// A write was cut by the time budget.
    pub cut: bool,
    /// Skipped because another instance holds it.
    pub contended: bool,
}

/// Totals of one tick.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Blobs read.
    pub blobs: usize,
    /// Blobs that failed.
    pub failed: usize,
    /// Bastion hosts listed.
    pub hosts: usize,
    /// Hosts whose listing failed.
    pub hosts_failed: usize,
    /// Hour blobs the listings showed grown.
    pub grown: usize,
    /// Of those, left for the next tick (the tick's budget was spent first).
    pub left: usize,
    /// Hour blobs found without a cursor and registered.
    pub registered: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Records parsed.
    pub records: u64,
    /// Corrupt lines quarantined.
    pub corrupt: u64,
    /// Session rows changed.
    pub sessions: usize,
    /// Catalogue rows whose join changed (rewritten).
    pub joined: usize,
    /// Work left for the next tick (a budget ran out).
    pub cut: bool,
    /// The join failed (logged; its sessions stay pending for the next tick).
    pub join_failed: bool,
    /// Findings to notify (the pipeline makes their notifications).
    pub findings: Vec<Finding>,
}

impl TickReport {
    /// Adds one blob's read (a contended blob counts nothing).
    pub fn add(&mut self, r: &BlobReport) {
        if r.contended {
            return;
        }
        self.blobs += 1;
        self.bytes += r.bytes;
        self.records += r.records;
        self.corrupt += r.corrupt;
        self.sessions += r.sessions;
        self.cut |= r.cut;
    }
}
