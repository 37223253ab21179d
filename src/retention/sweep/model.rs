//! What a sweep run is: its parameters, what it needs ([`Sweeper`]), the kinds of container it
//! visits and one visit ([`Pass`]), and the run itself (`Sweep`), whose steps the sibling modules
//! implement.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::catalogue::policy::Policy;
use crate::ports::Ports;
use crate::retention::settings::RetentionSettings;
use crate::sources::Source;

/// Candidates handled concurrently: enough to hide round-trip latency, few enough for one worker.
pub(crate) const CONCURRENCY: usize = 16;

/// What one run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepParams {
    /// "Now": the invocation's `sys.UtcNow`, so a run is reproducible.
    pub now: OffsetDateTime,
    /// The run's invocation id, recorded in every tombstone.
    pub invocation_id: String,
    /// Report only.
    pub dry_run: bool,
    /// Bound on deletions (or would-be deletions) in this run.
    pub max_deletes: usize,
}

impl SweepParams {
    /// Parameters from the settings.
    pub fn new(settings: &RetentionSettings, now: OffsetDateTime, invocation_id: String) -> Self {
        Self {
            now,
            invocation_id,
            dry_run: settings.dry_run,
            max_deletes: settings.max_deletes_per_run,
        }
    }
}

/// Which kind of container a candidate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Bastion recordings (catalogued in table `recordings`).
    Recordings,
    /// Audit-log `PT1H.json` blobs (no catalogue rows).
    AuditLogs,
}

/// One watched container the sweep visits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass<'a> {
    /// Recordings or audit logs.
    pub(crate) kind: Kind,
    /// The container and its store.
    pub(crate) source: &'a Source,
}

/// What the sweep needs: the watched containers, the app's tables, the policy and its settings.
#[derive(Clone)]
pub struct Sweeper {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// Retention policy.
    pub policy: Arc<Policy>,
    /// `RETENTION_*` settings.
    pub settings: RetentionSettings,
}

/// One run over the sweeper's stores.
pub(crate) struct Sweep<'a> {
    pub(super) deps: &'a Sweeper,
    pub(super) params: &'a SweepParams,
    pub(super) today: String,
}

impl Sweep<'_> {
    /// Every recording source, then every audit-log source.
    pub(super) fn passes(&self) -> Vec<Pass<'_>> {
        let sources = &self.deps.ports.sources;
        let pass = |kind| move |source| Pass { kind, source };
        sources
            .recordings()
            .iter()
            .map(pass(Kind::Recordings))
            .chain(sources.audit_logs().iter().map(pass(Kind::AuditLogs)))
            .collect()
    }

    /// The pass of `account`/`container`, whichever kind it is.
    pub(super) fn pass_of(&self, account: &str, container: &str) -> Option<Pass<'_>> {
        let sources = &self.deps.ports.sources;
        let (kind, source) = match sources.recording(account, container) {
            Some(source) => (Kind::Recordings, source),
            None => (Kind::AuditLogs, sources.audit_log(account, container)?),
        };
        Some(Pass { kind, source })
    }
}
