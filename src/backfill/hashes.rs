//! `backfill --hash`: the SHA-256 of every catalogued recording of the range that has none yet.
//!
//! Backfilled recordings are catalogued without a `hashrequests` message (the CLI has no queue
//! output), so without this pass they would never get the digest `verify` and `IntegrityVerify`
//! compare against. Driven by the catalogue rather than by this run's outputs on purpose: a row
//! catalogued by an interrupted or earlier run is hashed too, and a rerun hashes only what is still
//! missing (rows with a `HashedEtag` are skipped without touching the blob). Each row goes through
//! `RecordingHash`'s own code ([`hash_recording`]): streaming, constant memory, ETag-conditional.

use futures::StreamExt as _;
use serde::Serialize;
use time::OffsetDateTime;

use crate::catalogue::recording::STATUS_DELETED;
use crate::catalogue::repo;
use crate::dates::format_date;
use crate::dates::{days, last_day};
use crate::integrity::handler::{hash_recording, hashed_at};
use crate::invocation::Failure;
use crate::invocation::Outcome;
use crate::state::AppState;
use crate::tables::Filter;
use crate::telemetry::redact;

/// Most rows read from one day partition (a day with more is reported as truncated).
const MAX_ROWS_PER_DAY: usize = 100_000;

/// Totals of the hashing pass.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct HashTotals {
    /// Recordings hashed now.
    pub hashed: usize,
    /// Rows that already had a digest (not read again).
    pub already_hashed: usize,
    /// Rows skipped by the hash code (blob gone, or deleted by retention).
    pub skipped: usize,
    /// Rows whose hash failed (transient: run again).
    pub failed: Vec<String>,
}

/// Hashes every unhashed, not-deleted recording created in `[from, to)`, `concurrency` at a time.
///
/// # Errors
/// `Retryable` when a catalogue partition cannot be read (per-recording failures are listed).
pub async fn hash_range(
    state: &AppState,
    from: OffsetDateTime,
    to: OffsetDateTime,
    concurrency: usize,
) -> Result<HashTotals, Failure> {
    let mut totals = HashTotals::default();
    for day in days(from.date(), last_day(to)) {
        let filter = Filter::partition(&format_date(day));
        let rows = repo::recordings(&*state.ports.tables, &filter, MAX_ROWS_PER_DAY).await?;
        let mut todo = Vec::new();
        for entry in &rows {
            if entry.blob_created < from || entry.blob_created >= to {
                continue;
            }
            if hashed_at(entry).is_some() {
                totals.already_hashed += 1;
            } else if entry.status == STATUS_DELETED {
                totals.skipped += 1;
            } else {
                todo.push((entry.key.clone(), entry.etag.clone()));
            }
        }
        let results: Vec<_> = futures::stream::iter(todo)
            .map(|(key, etag)| async move {
                let r = hash_recording(&state.ports, &key, &etag)
                    .await
                    .map(Outcome::from);
                (key, r)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (key, r) in results {
            match r {
                Ok(Outcome::Processed { .. }) => totals.hashed += 1,
                Ok(_) => totals.skipped += 1,
                Err(e) => {
                    totals
                        .failed
                        .push(format!("hash:{}: {}", key.id(), redact(&e.to_string())))
                }
            }
        }
    }
    Ok(totals)
}
