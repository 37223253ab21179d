//! What a backfill walks and how: the kinds of container ([`Kind`]), one container of a kind
//! ([`Walk`]) and the run's options ([`Options`]).

use time::OffsetDateTime;

use crate::names::named;
use crate::sources::Source;
use crate::state::AppState;

named! {
    /// A container a backfill walks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `PT1H.json` audit-log blobs.
        AuditLogs = "auditlogs",
        /// Session recordings.
        Recordings = "recordings",
    }
}

impl Kind {
    /// Its sources, the default first.
    pub(super) fn sources(self, state: &AppState) -> &[Source] {
        match self {
            Self::AuditLogs => state.ports.sources.audit_logs(),
            Self::Recordings => state.ports.sources.recordings(),
        }
    }
}

/// One container a backfill walks: a kind and one of its sources.
#[derive(Debug, Clone, Copy)]
pub struct Walk<'a> {
    /// Recordings or audit logs.
    pub kind: Kind,
    /// The container and its store.
    pub source: &'a Source,
}

impl Walk<'_> {
    /// Name in checkpoints, failed rows and output: `recordings.<account>.<container>` (`.` is
    /// allowed in table keys, `/` is not).
    pub fn label(&self) -> String {
        let (kind, account) = (self.kind.as_str(), self.source.account());
        [kind, ".", account, ".", &self.source.container].concat()
    }
}

/// What to backfill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Inclusive start (recording creation time / audit-log hour).
    pub from: OffsetDateTime,
    /// Exclusive end.
    pub to: OffsetDateTime,
    /// Items in flight (≥ 1).
    pub concurrency: usize,
    /// Containers, in order.
    pub kinds: Vec<Kind>,
    /// Count only: no writes, no checkpoint.
    pub dry_run: bool,
    /// Ignore (and overwrite) the checkpoint.
    pub restart: bool,
    /// Stop after this many items (the checkpoint keeps the place).
    pub limit: Option<usize>,
    /// Then hash every unhashed recording of the range ([`super::hashes`]).
    pub hash: bool,
}
