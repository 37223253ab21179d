//! The burst check: partitions to check are durable rows in [`UNCHECKED`], upserted
//! before the chunk's offset is saved and deleted `If-Match` only after a successful check, so a
//! failed check or a dead tick is retried next tick; a partition that reached the threshold is
//! emitted once per marker ([`check`]).

use futures::StreamExt as _;
use time::Duration;
use tracing::error;

use super::burst::{digest, with_portal};
use super::stored::claim;
use crate::audit_logs::repo::FAILED_TABLE;
use crate::azure::AzureError;
use crate::sources::Sources;
use crate::spine::Finding;
use crate::tables::ops::{query_all, remove, upsert_batched};
use crate::tables::{Entity, Filter, IN_FLIGHT, TableStore, WriteMode, get_str};
use crate::telemetry::redact;

/// Partition of the "check this partition" rows (`~` is outside base64url: no collision).
pub const UNCHECKED: &str = "~pending";

/// Most unchecked partitions checked per run (the rest wait for the next tick).
const UNCHECKED_PER_RUN: usize = 500;

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

/// Marks `partitions` as needing a burst check (idempotent batched upserts).
pub async fn mark_unchecked<'p>(
    tables: &dyn TableStore,
    partitions: impl IntoIterator<Item = &'p String>,
) -> Result<(), AzureError> {
    let rows: Vec<Entity> = partitions
        .into_iter()
        .map(|pk| crate::tables::keyed(UNCHECKED, pk.clone()))
        .collect();
    upsert_batched(tables, FAILED_TABLE, &rows).await?;
    Ok(())
}

/// Removes the unchecked rows of the partitions checked, each `If-Match` its ETag as read, 100 to a
/// transaction; a refused transaction (one row marked again or settled since) is removed row by
/// row. A row marked again since stays (412), one another tick settled is gone (404); any other
/// failure leaves it unchecked, checked again next tick.
pub async fn settle(tables: &dyn TableStore, checked: &[(&str, &str)]) {
    for chunk in checked.chunks(crate::tables::MAX_BATCH) {
        let deletes: Vec<(Entity, WriteMode)> = chunk
            .iter()
            .map(|(pk, etag)| {
                let e = crate::tables::keyed(UNCHECKED, *pk);
                (e, WriteMode::Delete((*etag).to_owned()))
            })
            .collect();
        if chunk.len() > 1 && tables.batch(FAILED_TABLE, &deletes).await.is_ok() {
            continue;
        }
        for (pk, etag) in chunk {
            // 412: an attempt was stored since the read, 404: another tick settled it.
            if let Err(e) = remove(tables, FAILED_TABLE, UNCHECKED, pk, Some(etag)).await {
                error!(error.cause_chain = %redact(&e.to_string()), "settling a failed-login burst check failed; kept unchecked, checked again next tick");
            }
        }
    }
}
