//! `AuditLogTail` (timer, every minute): reads the hour blobs a listing shows grown, oldest growth
//! first, then the join pass and the per-minute detections. Work is bounded in bytes, records and
//! time (reading gets the first half); progress is saved as it goes, so the next tick continues
//! where this one stopped. A failing blob is logged and retried next tick; the tick still ends
//! with its report so notifications are delivered (its function fails only when all failed).
//! What tailing needs is a [`Tailer`], built by its caller; it registers an hour blob's cursor.

use std::sync::Arc;

use futures::StreamExt as _;
use time::OffsetDateTime;
use tracing::{error, warn};

use self::blob::Allowance;
use self::scan::Growth;
use super::AuditSettings;
use super::detect::unchecked;
use super::path::{Host, HostPath, parse_blob_path};
use super::repo::{Cursor, CursorRepo};
use crate::audit_logs::Error;
use crate::azure::AzureError;
use crate::catalogue::policy::audit_log_retention;
use crate::clock::Budget;
use crate::invocation::Quarantine;
use crate::join::{Join, Scope, findings};
use crate::ports::Ports;
use crate::sources::Source;
use crate::spine::Finding;
use crate::storage::{BlobStore, update_tags};
use crate::telemetry::redact;

pub mod batch;
pub mod blob;
pub mod known;
mod scan;

/// The `AuditLogTail` work unit that joins and detects over every host ([`Tailer::joined`]); the
/// others are hosts ([`Host::unit`]).
pub const JOINED: &str = "join-and-detections";
/// Share of the time budget reading may use; the join gets the rest.
const READ_SHARE: f64 = 0.5;
/// `GrownAt` marks written at once.
const MARKS_IN_FLIGHT: usize = 8;

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

/// One tick: tail, join, then detect.
///
/// # Errors
/// [`Error`] when the cursor list cannot be read.
pub async fn tick(tail: &Tailer, now: OffsetDateTime) -> Result<TickReport, Error> {
    let mut report = tail.run(now).await?;
    detect(tail, now, &mut report).await;
    Ok(report)
}

impl Tailer {
    /// Finds the hour blobs that grew, reads them (oldest growth first) within the allowance and
    /// the time budget, then joins what changed.
    ///
    /// # Errors
    /// [`Error`] when the cursor list cannot be read.
    pub async fn run(&self, now: OffsetDateTime) -> Result<TickReport, Error> {
        let time = Budget::after(self.ports.clock.clone(), self.settings.tail_budget);
        let repo = CursorRepo::new(self.ports.tables.clone());
        let cursors = repo.active(now, self.settings.tail_look_back).await?;
        let found = scan::scan(self, cursors, now).await;
        let mut report = self.read(found, now, &time).await;
        self.join(now, &time, &mut report).await;
        Ok(report)
    }

    /// One host's part of a tick (an `AuditLogTail` work unit, [`Host::unit`]): its listing and
    /// the reads of its hour blobs that grew, within a tick's allowance and time budget; no join.
    /// `known`: what its planner knew of its cursors ([`known::of`]); then no query of its
    /// cursors: a listing that agrees with it reads no cursor row, one that differs reads the rows
    /// of the blobs that differ by their keys.
    ///
    /// # Errors
    /// [`Error`] when its cursors cannot be read.
    pub async fn run_host(
        &self,
        unit: &str,
        known: &str,
        now: OffsetDateTime,
    ) -> Result<TickReport, Error> {
        let time = Budget::after(self.ports.clock.clone(), self.settings.tail_budget);
        let Some((source, path)) = Host::parse_unit(unit) else {
            return Ok(self.read(scan::Scan::default(), now, &time).await);
        };
        let found = match known::host(source.clone(), &path, known) {
            Some(host) => scan::scan_known(self, host, now).await,
            None => scan::scan(self, self.rows_of(&source, &path, now).await?, now).await,
        };
        Ok(self.read(found, now, &time).await)
    }

    /// The active cursors of the host `path` of `source`.
    async fn rows_of(
        &self,
        source: &(String, String),
        path: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Cursor>, Error> {
        let repo = CursorRepo::new(self.ports.tables.clone());
        let name = path.rsplit('/').next().unwrap_or_default();
        let of_host = repo
            .active_of(now, self.settings.tail_look_back, name)
            .await?;
        Ok(of_host
            .into_iter()
            .filter(|c| {
                (&c.account, &c.container) == (&source.0, &source.1)
                    && HostPath::of(&c.blob).is_some_and(|p| p.host == path)
            })
            .collect())
    }

    /// The tick's step over every host (an `AuditLogTail` work unit of its own): the join pass over
    /// what the hosts' units read, then the per-minute detections.
    pub async fn joined(&self, now: OffsetDateTime) -> TickReport {
        let time = Budget::after(self.ports.clock.clone(), self.settings.tail_budget);
        let mut report = TickReport::default();
        self.join(now, &time, &mut report).await;
        detect(self, now, &mut report).await;
        report
    }

    /// Reads the blobs a scan `found` grown (oldest growth first) within the allowance and the
    /// reading share of `time`; the growth left is marked.
    async fn read(&self, found: scan::Scan, now: OffsetDateTime, time: &Budget) -> TickReport {
        let reading = time.share(READ_SHARE);
        let repo = CursorRepo::new(self.ports.tables.clone());
        let mut report = TickReport {
            hosts: found.hosts,
            hosts_failed: found.failed,
            grown: found.grown.len(),
            registered: found.registered,
            ..TickReport::default()
        };
        let mut grown = found.grown;
        grown.sort_by_key(|g| (g.since, g.cursor.hour));
        let mut allowance = self.allowance();
        let mut left = Vec::new();
        for g in grown {
            if allowance.spent() || reading.passed() {
                left.push(g);
                continue;
            }
            let cursor = &g.cursor;
            match blob::tail_blob(self, cursor, now, &mut allowance, &reading, g.since).await {
                Ok(r) => add(&mut report, &r),
                Err(e) => {
                    report.blobs += 1;
                    report.failed += 1;
                    error!(blob = %cursor.blob, error.cause_chain = %redact(&e.to_string()), "tailing an audit blob failed; retried next tick");
                }
            }
        }
        report.left = left.len();
        report.cut |= !left.is_empty();
        mark(&repo, left).await;
        report
    }

    /// What one tick (or one `AuditLogCreated`) may read.
    fn allowance(&self) -> Allowance {
        Allowance {
            bytes: self.settings.tail_max_bytes,
            records: self.settings.tail_max_records,
        }
    }

    /// Reads one blob within a tick's allowance and `time` (`AuditLogCreated`).
    ///
    /// # Errors
    /// [`Error`] when the blob could not be read.
    pub async fn read_one(
        &self,
        cursor: &Cursor,
        now: OffsetDateTime,
        time: &Budget,
    ) -> Result<TickReport, Error> {
        let mut report = TickReport::default();
        let mut allowance = self.allowance();
        let r = blob::tail_blob(self, cursor, now, &mut allowance, time, now).await?;
        add(&mut report, &r);
        Ok(report)
    }

    /// The failed-login burst checks still unchecked (this tick's partitions and any earlier ones
    /// whose check failed).
    pub async fn bursts(&self) -> Vec<Finding> {
        let s = &self.settings;
        let (threshold, window) = (s.failed_login_threshold, s.failed_login_bucket);
        unchecked::run_unchecked(&self.ports.tables, &self.ports.sources, threshold, window).await
    }

    /// The join pass over the sessions that changed within the tail window and the recordings
    /// that fell due; a failure leaves them pending for the next tick.
    pub(crate) async fn join(&self, now: OffsetDateTime, time: &Budget, report: &mut TickReport) {
        let scope = Scope {
            since: crate::join::horizon(now, self.settings.tail_look_back),
            span: None,
        };
        match self.join.run(&scope, now, time).await {
            Ok(r) => {
                report.joined += r.rewritten;
                report.cut |= r.cut;
            }
            Err(e) => {
                report.join_failed = true;
                error!(error.cause_chain = %redact(&e.to_string()), "joining changed sessions failed; they stay pending for the next tick")
            }
        }
    }
}

/// Marks the growth left unread (`GrownAt`, kept when older), `If-Match` the cursor as read; a
/// failed mark is logged (the next listing finds the growth again).
async fn mark(repo: &CursorRepo, left: Vec<Growth>) {
    let unmarked = left.into_iter().filter(|g| g.cursor.grown_at.is_none());
    let writes = futures::stream::iter(unmarked)
        .map(|g| async move {
            let c = Cursor {
                grown_at: Some(g.since),
                ..g.cursor
            };
            (repo.save(&c).await, c.blob)
        })
        .buffer_unordered(MARKS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    for (r, blob) in writes {
        if let Err(e) = r
            && !matches!(e, AzureError::PreconditionFailed | AzureError::NotFound)
        {
            warn!(blob = %blob, error.cause_chain = %redact(&e.to_string()), "marking unread growth failed; the next listing finds it again");
        }
    }
}

fn add(report: &mut TickReport, r: &blob::BlobReport) {
    if r.contended {
        return;
    }
    report.blobs += 1;
    report.bytes += r.bytes;
    report.records += r.records;
    report.corrupt += r.corrupt;
    report.sessions += r.sessions;
    report.cut |= r.cut;
}

/// Per-minute detections (the workspace source's too); a failure is logged and retried next tick.
pub(crate) async fn detect(tail: &Tailer, now: OffsetDateTime, report: &mut TickReport) {
    let audit = &tail.settings;
    report.findings.extend(tail.bursts().await);
    // Recordings still being written are judged once they stop growing (due for the next pass):
    // looked at every fifth minute, so a quiet tick costs no query for them.
    if crate::join::growing::looks_at(now)
        && let Err(e) = crate::join::growing::run(&tail.join, now, audit.tail_look_back).await
    {
        error!(error.cause_chain = %redact(&e.to_string()), "following growing recordings failed; retried at the next look");
    }
    let waits = (
        audit.unrecorded_grace,
        audit.session_max.max(audit.open_session_max),
    );
    match findings::unrecorded::run_unrecorded(&tail.join, waits, now, audit.tail_look_back).await {
        Ok(mut n) => report.findings.append(&mut n),
        Err(e) => {
            error!(error.cause_chain = %redact(&e.to_string()), "unrecorded-session check failed; retried next tick")
        }
    }
    // Rows become suspect outside cataloguing only by a pass that changes their join.
    if report.joined > 0 {
        let (tables, repo) = (tail.ports.tables.as_ref(), tail.ports.catalogue());
        match findings::suspect::run_suspect(tables, &repo, now, audit.tail_look_back).await {
            Ok(mut n) => report.findings.append(&mut n),
            Err(e) => {
                error!(error.cause_chain = %redact(&e.to_string()), "suspect-recording check failed; retried by the next tick whose join changes a row")
            }
        }
    }
}

/// The tail's dependencies.
#[derive(Clone)]
pub struct Tailer {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// The store of the source being read ([`Tailer::for_cursor`]; the default source's otherwise).
    pub logs: Arc<dyn BlobStore>,
    /// The container of the source being read.
    pub container: String,
    /// Where corrupt lines go.
    pub quarantine: Quarantine,
    /// `RETENTION_CLASS_AUDITLOGS`: the class a new hour blob is tagged with.
    pub retention_class: String,
    /// `AUDIT_*` and detection settings.
    pub settings: Arc<AuditSettings>,
    /// The recording ↔ session join: its settings give a session change's pending range, and its
    /// pass runs after reading.
    pub join: Join,
}

impl Tailer {
    /// Tailing over `ports`, reading the default audit-log source until a cursor names another.
    pub fn new(
        ports: &Ports,
        join: Join,
        quarantine: Quarantine,
        retention_class: String,
        settings: Arc<AuditSettings>,
    ) -> Self {
        let logs = ports.sources.default_audit_logs();
        Self {
            ports: ports.clone(),
            logs: logs.store.clone(),
            container: logs.container.clone(),
            quarantine,
            retention_class,
            settings,
            join,
        }
    }

    /// The source a cursor row names (`of`: its blob or host, for the error).
    ///
    /// # Errors
    /// A source no longer configured is a storage error (retried next tick, logged), so
    /// configuring it again resumes its cursors where they stopped.
    pub fn source(&self, (account, container): (&str, &str), of: &str) -> Result<&Source, Error> {
        self.ports
            .sources
            .audit_log(account, container)
            .ok_or_else(|| {
                Error::Interrupted(format!(
                    "audit-log source {account}/{container} of {of} is not configured"
                ))
            })
    }

    /// The same dependencies reading the source `cursor` names.
    ///
    /// # Errors
    /// See [`Tailer::source`].
    pub fn for_cursor(&self, cursor: &Cursor) -> Result<Self, Error> {
        let source = self.source((&cursor.account, &cursor.container), &cursor.blob)?;
        Ok(Self {
            logs: source.store.clone(),
            container: source.container.clone(),
            ..self.clone()
        })
    }

    /// Registers the cursor of an hour blob without reading it (`AuditLogCreated`, the listing,
    /// the backfill): tags the blob and registers its cursor (idempotent: an existing cursor keeps
    /// its offset); returns the cursor as stored. `tag_count`: the blob's tags
    /// as a listing counted them (`None`: unknown, read). `None` when the name is not a `PT1H.json`
    /// path or the blob is gone.
    pub async fn cursor_of(
        &self,
        source: &Source,
        blob_name: &str,
        created: OffsetDateTime,
        tag_count: Option<u32>,
    ) -> Result<Option<Cursor>, Error> {
        let Ok(hour) = parse_blob_path(blob_name) else {
            return Ok(None);
        };
        if !self
            .tag_retention(source, blob_name, created, tag_count)
            .await?
        {
            // Deleted before we got to it: nothing to tail.
            return Ok(None);
        }
        let repo = CursorRepo::new(self.ports.tables.clone());
        let at = self.ports.sources.cursor_source(source);
        let fresh =
            Cursor::new(blob_name, hour.hour, created, &hour.bastion_host).in_source(at.clone());
        // Inserted now: the cursor as written, no read; else the one stored.
        if let Some(cursor) = repo.register(&fresh).await? {
            return Ok(Some(cursor));
        }
        match repo.get(at, blob_name, hour.hour).await? {
            Some(cursor) => Ok(Some(cursor)),
            None => Err(Error::Interrupted(format!(
                "cursor of {blob_name} vanished after registration"
            ))),
        }
    }

    /// Tags the hour blob with the audit-log retention class (`RETENTION_CLASS_AUDITLOGS`), so the
    /// sweep's single `retainUntil` range query finds it when it expires. Keeps other tags, holds and
    /// later dates. `false` when the blob no longer exists.
    async fn tag_retention(
        &self,
        source: &Source,
        blob_name: &str,
        created: OffsetDateTime,
        tag_count: Option<u32>,
    ) -> Result<bool, Error> {
        let blob = source.blob(blob_name);
        let policy = &self.join.policy;
        // A listing that counted no tags spares reading them (as for recordings).
        let done = update_tags(&*source.store, &blob, tag_count == Some(0), |existing| {
            audit_log_retention(policy, &self.retention_class, existing, created)
        })
        .await?;
        Ok(done.is_some())
    }
}

#[cfg(test)]
mod tests;
