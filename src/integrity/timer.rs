//! `IntegrityVerify` (weekly): [`verify`] over a uniform random sample of the rows still retained
//! (the lowest salted ranks, in bounded memory), until [`BUDGET`]; a catalogue read failure is
//! returned, one row's failure is counted; results go to [`super::checks`].

use std::time::Instant;

use futures::StreamExt as _;
use time::{Duration, OffsetDateTime};

use super::blob::tags_checked;
use super::checks::{Check, result_of, store};
use super::verify::rank;
use super::verify::{Verdict, verify};
use crate::azure::{AzureError, found};
use crate::catalogue::policy::Policy;
use crate::catalogue::recording::{Recording, RecordingKey};
use crate::catalogue::repo;
use crate::dates::format_date;
use crate::ports::Ports;
use crate::spine::Handled;
use crate::tables::Filter;

/// The function (folder, route) name.
pub const FUNCTION: &str = "IntegrityVerify";
/// Wall-clock budget for hashing (the host's `functionTimeout` is 10 minutes).
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(7 * 60);
const CONCURRENCY: usize = 4;
const MAX_LOOKBACK_DAYS: u32 = 3660;

/// Days back a catalogued recording may still be retained: the longest class with `days`
/// (at least 1, at most ten years).
pub fn lookback_days(policy: &Policy) -> u32 {
    policy
        .classes
        .values()
        .filter_map(|c| c.days)
        .max()
        .unwrap_or(MAX_LOOKBACK_DAYS)
        .saturating_add(1)
        .clamp(1, MAX_LOOKBACK_DAYS)
}

/// The `size` lowest-ranked hashed rows of the partitions `now` back to `days` days ago.
///
/// # Errors
/// Table errors.
pub async fn select(
    ports: &Ports,
    now: OffsetDateTime,
    days: u32,
    size: usize,
    salt: &str,
) -> Result<Vec<Recording>, AzureError> {
    // Cut back to the `size` lowest whenever it doubles: memory stays bounded by the sample.
    let mut kept: Vec<(u64, Recording)> = Vec::with_capacity(2 * size);
    for back in 0..i64::from(days) {
        let day = format_date((now - Duration::days(back)).date());
        let filter = Filter::partition(&day);
        let mut next = None;
        loop {
            // No table yet: nothing is catalogued on any day (one call, not one per day).
            let Some((found, after)) = found(repo::page(&*ports.tables, &filter, next).await)?
            else {
                return Ok(Vec::new());
            };
            let hashed = found.into_iter().map(|(r, _)| r);
            for r in hashed.filter(|r| r.hash.is_some()) {
                kept.push((rank(salt, &r.id()), r));
                if kept.len() >= 2 * size {
                    kept.sort_by_key(|r| r.0);
                    kept.truncate(size);
                }
            }
            next = after;
            if next.is_none() {
                break;
            }
        }
    }
    kept.sort_by_key(|r| r.0);
    kept.truncate(size);
    Ok(kept.into_iter().map(|r| r.1).collect())
}

/// Stores one row's result; a failed write is logged, never fatal (the finding still goes out).
async fn remember<E>(
    ports: &Ports,
    key: &RecordingKey,
    verdict: &Result<Verdict, E>,
    at: OffsetDateTime,
    run_id: &str,
) {
    let check = Check {
        at,
        result: result_of(verdict),
        run: run_id.to_owned(),
    };
    if let Err(e) = store(ports.tables.as_ref(), key, &check).await {
        tracing::warn!(error = %crate::telemetry::redact(&e.to_string()), "storing a verification result failed");
    }
}

/// Verifies `rows` (a few at once) until `end`: its summary and findings; failures are counted,
/// and each result is stored under `run_id` ([`super::checks`]).
pub async fn run(
    ports: &Ports,
    rows: Vec<Recording>,
    now: OffsetDateTime,
    end: Instant,
    run_id: &str,
) -> Handled {
    let total = rows.len();
    let results: Vec<_> = futures::stream::iter(rows)
        .map(|r| async move {
            if Instant::now() >= end {
                return None;
            }
            let retagged = match tags_checked(ports, &r, now).await {
                Ok(alert) => alert,
                Err(e) => {
                    tracing::warn!(error = %crate::telemetry::redact(&e.to_string()), "comparing one recording's tags failed");
                    None
                }
            };
            let verdict = verify(ports, &r, now).await;
            remember(ports, &r.key, &verdict, now, run_id).await;
            Some((verdict, retagged))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let (mut intact, mut unhashed, mut expired, mut errors, mut skipped) = (0, 0, 0, 0, 0);
    let mut findings = Vec::new();
    for r in results {
        let r = r.map(|(verdict, retagged)| {
            findings.extend(retagged);
            verdict
        });
        match r {
            None => skipped += 1,
            Some(Ok(Verdict::Intact)) => intact += 1,
            Some(Ok(Verdict::Unhashed)) => unhashed += 1,
            Some(Ok(Verdict::Expired)) => expired += 1,
            Some(Ok(Verdict::Finding(n))) => findings.push(n),
            Some(Err(e)) => {
                errors += 1;
                tracing::warn!(error = %crate::telemetry::redact(&e.to_string()), "integrity check of one recording failed");
            }
        }
    }
    findings.sort_by_cached_key(crate::spine::Finding::id);
    let summary = format!(
        "verified {total} sampled recordings: {intact} intact, {} findings, {expired} expired, {unhashed} unhashed, {errors} errors, {skipped} over budget",
        findings.len()
    );
    Handled::done(summary).found(findings)
}
