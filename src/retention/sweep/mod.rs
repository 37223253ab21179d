//! `RetentionSweep` (daily): finishes crashed deletions, then per container pages through one
//! range query of expired blobs (cost follows them, not the container), bounded per run; a
//! transient failure finishes the page, then fails the run for its retry (every step idempotent).

pub mod alerts;
pub mod announce;
mod candidate;
pub mod digest;
mod evaluate;
mod model;
pub mod reevaluate;
mod report;
#[cfg(test)]
mod tests;
mod write;

use crate::azure::AzureError;
use futures::future::join_all;

pub use model::{SweepParams, Sweeper};
pub use report::{DIGEST_ITEMS, Report};

use crate::dates::format_date;
use crate::retention::tags::expired_expr;
use crate::retention::tombstone::{self, Ending};
use crate::storage::BlobRef;
use crate::storage::url::BlobUrl;
use model::{CONCURRENCY, Pass, Sweep};

/// The function (folder, route, telemetry) name.
pub const FUNCTION: &str = "RetentionSweep";

/// Runs one sweep. Returns the report and, if a transient failure stopped it, the error (the
/// report still counts what was done).
pub async fn run(deps: &Sweeper, params: &SweepParams) -> (Report, Option<anyhow::Error>) {
    let sweep = Sweep {
        deps,
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
    // Each source on its own: one account's outage fails its pass (named in the report and the
    // error, so the retry policy re-runs the sweep) and never the other sources'.
    let mut failure: Option<anyhow::Error> = None;
    for pass in sweep.passes() {
        if let Err(e) = sweep.container_pass(pass, &mut report).await {
            let label = pass.source.label();
            tracing::warn!(source = %label, error.cause_chain = %crate::telemetry::redact(&format!("{e:#}")), "retention sweep of one source failed; the others go on");
            report.failed_sources.push(label.clone());
            failure.get_or_insert(e.context(format!("source {label}")));
        }
        if report.bound_reached {
            break;
        }
    }
    // After the deletions (which re-apply the policy to due blobs themselves), with its own bound.
    if let Err(e) = sweep.reevaluate(&mut report).await {
        failure.get_or_insert(e.into());
    }
    (report, failure)
}

impl Sweep<'_> {
    /// The source and blob name of a deletion intent: spelled out by its key, else (a digest key)
    /// by its URL.
    fn locate(&self, t: &tombstone::Tombstone) -> Option<(Pass<'_>, String)> {
        let Some(path) = t.key.blob() else {
            let url = BlobUrl::parse(&t.blob_url)?;
            return Some((self.pass_of(&url.account, &url.container)?, url.name));
        };
        Some((self.pass_of(&path.account, &path.container)?, path.name))
    }

    async fn container_pass(&self, pass: Pass<'_>, report: &mut Report) -> anyhow::Result<()> {
        let expr = expired_expr(&self.today);
        let mut marker = None;
        loop {
            let page = match pass
                .source
                .store
                .find_by_tags(&pass.source.container, &expr, marker)
                .await
            {
                Err(AzureError::NotFound) => return Ok(()),
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
                    .zip(join_all(blobs.iter().map(|b| self.candidate(pass, b))).await)
                {
                    match r {
                        Ok(d) => report.record(d),
                        Err(e) => report.fail(blob, e, "retention candidate failed", &mut failure),
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
    /// there → intent dropped (the range query will bring it back if it is still due). An intent
    /// of a source no longer configured is left for when it is again.
    async fn recover(&self, report: &mut Report) -> anyhow::Result<()> {
        let tables = self.deps.ports.tables.as_ref();
        for t in tombstone::intents(tables, 1000).await? {
            let Some((pass, name)) = self.locate(&t) else {
                tracing::warn!(blob = %t.blob_url, "deletion intent of a source not configured: left as is");
                continue;
            };
            let blob = pass.source.blob(name);
            match pass.source.store.properties(&blob).await {
                Err(AzureError::NotFound) => {
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
