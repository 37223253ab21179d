//! `RetentionSweep` (timer, daily 02:00 UTC): deletes expired, non-held blobs of the recordings and
//! audit-log containers, with evidence, bounded per run.
//!
//! One run: finish crashed deletions ([`crate::retention::tombstone`] intents), then for each
//! container page through **one** Find Blobs by Tags range query (`"retainUntil" < '<today>'`,
//! today = the invocation's `sys.UtcNow`), and handle candidates a few at a time
//! (`candidate`). The query returns only expired blobs (held blobs carry `9999-12-31`), so the
//! cost grows with the number of expired blobs, not with the container. At most
//! `RETENTION_MAX_DELETES_PER_RUN` deletions per run; the next run continues where this one stopped.
//! A transient failure lets the current page finish, then fails the run so the `retry` policy of
//! `function.json` runs it again (every step is idempotent).

pub mod announce;
mod candidate;
pub mod digest;
mod evaluate;
pub mod reevaluate;
mod report;
#[cfg(test)]
mod tests;
mod write;

use futures::future::join_all;
use time::OffsetDateTime;

pub use candidate::STATUS_DELETED;
pub use evaluate::row_held;
pub use report::{Decision, Item, Report};

use crate::app::AppState;
use crate::dates::format_date;
use crate::retention::settings::RetentionSettings;
use crate::retention::tags::expired_expr;
use crate::retention::tombstone::{self, Ending};
use crate::storage::{BlobRef, BlobStore, StorageError};

/// The function (folder, route, telemetry) name.
pub const FUNCTION: &str = "RetentionSweep";
/// Candidates handled concurrently: enough to hide round-trip latency, few enough for one worker.
pub(crate) const CONCURRENCY: usize = 16;
/// Items listed in the digest.
pub const DIGEST_ITEMS: usize = 50;

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

/// Which container a candidate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bastion recordings (catalogued in table `recordings`).
    Recordings,
    /// Audit-log `PT1H.json` blobs (no catalogue rows).
    AuditLogs,
}

/// One run over the state's stores.
pub(crate) struct Sweep<'a> {
    state: &'a AppState,
    params: &'a SweepParams,
    today: String,
}

/// Runs one sweep. Returns the report and, if a transient failure stopped it, the error (the
/// report still counts what was done).
pub async fn run(state: &AppState, params: &SweepParams) -> (Report, Option<anyhow::Error>) {
    let sweep = Sweep {
        state,
        params,
        today: format_date(params.now.date()),
    };
    let mut report = Report {
        today: sweep.today.clone(),
        dry_run: params.dry_run,
        invocation_id: params.invocation_id.clone(),
        ..Report::default()
    };
    if !params.dry_run
        && let Err(e) = sweep.recover(&mut report).await
    {
        return (report, Some(e));
    }
    for kind in [Kind::Recordings, Kind::AuditLogs] {
        if let Err(e) = sweep.container_pass(kind, &mut report).await {
            return (report, Some(e));
        }
        if report.bound_reached {
            break;
        }
    }
    // After the deletions (which re-apply the policy to due blobs themselves), with its own bound.
    let err = sweep.reevaluate(&mut report).await.err();
    (report, err)
}

impl Sweep<'_> {
    fn store(&self, kind: Kind) -> &dyn BlobStore {
        match kind {
            Kind::Recordings => self.state.recordings.as_ref(),
            Kind::AuditLogs => self.state.audit_logs.as_ref(),
        }
    }

    fn container(&self, kind: Kind) -> &str {
        match kind {
            Kind::Recordings => &self.state.config.recordings_container,
            Kind::AuditLogs => &self.state.config.auditlogs_container,
        }
    }

    async fn container_pass(&self, kind: Kind, report: &mut Report) -> anyhow::Result<()> {
        let expr = expired_expr(&self.today);
        let mut marker = None;
        loop {
            let page = match self
                .store(kind)
                .find_by_tags(self.container(kind), &expr, marker)
                .await
            {
                Err(StorageError::NotFound) => return Ok(()),
                other => other?,
            };
            let mut failure = None;
            let mut rest = page.items.as_slice();
            while !rest.is_empty() {
                let room = self.params.max_deletes.saturating_sub(report.used());
                if room == 0 {
                    report.bound_reached = true;
                    break;
                }
                let (now, later) = rest.split_at(room.min(CONCURRENCY).min(rest.len()));
                rest = later;
                let blobs: Vec<BlobRef> = now
                    .iter()
                    .map(|t| BlobRef::new(t.container.clone(), t.name.clone()))
                    .collect();
                report.candidates += blobs.len();
                for (blob, r) in blobs
                    .iter()
                    .zip(join_all(blobs.iter().map(|b| self.candidate(kind, b))).await)
                {
                    match r {
                        Ok(d) => report.record(d),
                        Err(e) => {
                            report.failed += 1;
                            tracing::warn!(blob = %blob, error.cause_chain = %crate::telemetry::redact(&format!("{e:#}")), "retention candidate failed");
                            failure.get_or_insert(e);
                        }
                    }
                }
            }
            // The page is finished before a failure ends the run: done work is never redone twice.
            if let Some(e) = failure {
                return Err(e);
            }
            match page.next {
                Some(m) if !report.bound_reached => marker = Some(m),
                _ => return Ok(()),
            }
        }
    }

    /// Finishes deletions a crashed run left as intents: blob gone → tombstone + row; blob still
    /// there → intent dropped (the range query will bring it back if it is still due).
    async fn recover(&self, report: &mut Report) -> anyhow::Result<()> {
        let tables = self.state.tables.as_ref();
        for t in tombstone::intents(tables, 1000).await? {
            let Some((container, name)) = t.key.blob() else {
                continue;
            };
            let kind = if container == self.state.config.recordings_container {
                Kind::Recordings
            } else {
                Kind::AuditLogs
            };
            match self
                .store(kind)
                .properties(&BlobRef::new(container, name))
                .await
            {
                Err(StorageError::NotFound) => {
                    self.finish(&t, Ending::AlreadyGone, None).await?;
                    report.recovered += 1;
                }
                Ok(_) => tombstone::drop_intent(tables, &t).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
