//! The burst check: partitions to check are durable rows in `~pending` (`failed.rs`), upserted
//! before the chunk's offset is saved and deleted `If-Match` only after a successful check, so a
//! failed check or a dead tick is retried next tick; a partition that reached the threshold is
//! emitted once per marker ([`check`]).

use futures::StreamExt as _;
use time::Duration;
use tracing::error;

use super::burst::{digest, with_portal};
use super::failed::{UNCHECKED, claim, settle};
use crate::audit_logs::repo::FAILED_TABLE;
use crate::audit_logs::settings::AuditSettings;
use crate::azure::AzureError;
use crate::ports::Ports;
use crate::sources::Sources;
use crate::spine::Finding;
use crate::tables::ops::query_all;
use crate::tables::{Filter, IN_FLIGHT, TableStore, get_str};
use crate::telemetry::redact;

/// Most unchecked partitions checked per run (the rest wait for the next tick).
const UNCHECKED_PER_RUN: usize = 500;

/// The one burst detection every caller runs: every unchecked partition against the `AUDIT_*`
/// threshold and fixed window ([`run_unchecked`]).
pub async fn bursts(ports: &Ports, settings: &AuditSettings) -> Vec<Finding> {
    let (threshold, window) = (
        settings.failed_login_threshold,
        settings.failed_login_bucket,
    );
    run_unchecked(&*ports.tables, &ports.sources, threshold, window).await
}

/// Checks every unchecked partition (a failed check is logged and stays unchecked); never fails, so
/// the digests already won reach the caller's outputs.
pub async fn run_unchecked(
    tables: &dyn TableStore,
    sources: &Sources,
    threshold: usize,
    window: Duration,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let unchecked = match query_all(
        tables,
        FAILED_TABLE,
        &Filter::partition(UNCHECKED),
        UNCHECKED_PER_RUN,
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            error!(error.cause_chain = %redact(&e.to_string()), "listing unchecked failed-login checks failed; retried next tick");
            return out;
        }
    };
    // The partitions are checked a few at once, their results taken in order. Built eagerly: a
    // lazily mapped stream of borrowing futures trips the `Send` check of the route.
    let checks: Vec<_> = unchecked
        .iter()
        .filter_map(|row| Some((get_str(&row.entity, "RowKey")?, row)))
        .map(|(pk, row)| async move { (pk, row, check(tables, pk, threshold, window).await) })
        .collect();
    let results: Vec<_> = futures::stream::iter(checks)
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut checked = Vec::new();
    for (pk, row, result) in results {
        match result {
            Ok(n) => {
                out.extend(n.into_iter().map(|d| with_portal(d, sources)));
                checked.push((pk, row.etag.as_str()));
            }
            Err(e) => {
                error!(error.cause_chain = %redact(&e.to_string()), "failed-login burst check failed; kept unchecked, retried next tick");
            }
        }
    }
    settle(tables, &checked).await;
    out
}

/// Emits the digest for partition `pk` when it reached `threshold` and no tick settled it yet
/// ([`claim`]).
pub async fn check(
    tables: &dyn TableStore,
    pk: &str,
    threshold: usize,
    window: Duration,
) -> Result<Option<Finding>, AzureError> {
    let claimed = claim(tables, pk, threshold).await?;
    Ok(claimed.map(|attempts| digest(pk, &attempts.iter().collect::<Vec<_>>(), window)))
}
