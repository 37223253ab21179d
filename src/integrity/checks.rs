//! Table `integritychecks`: each recording's latest verification (keyed as its catalogue row,
//! for the evidence pack's `integrity.csv`); a result never replaces a later one.

use std::collections::HashMap;

use serde_json::json;
use time::OffsetDateTime;

use super::verify::Verdict;
use crate::azure::AzureError;
use crate::catalogue::recording::RecordingKey;
use crate::dates::format_utc_millis;
use crate::tables::ops::{query_all, update};
use crate::tables::{Filter, TableStore, entity, get_str};

/// The table of verification results.
pub const CHECKS_TABLE: &str = "integritychecks";
/// Most results read for one day (a day of recordings stays far below).
const PER_DAY: usize = 1_000_000;

/// One recording's verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// When the run verified it.
    pub at: OffsetDateTime,
    /// `intact`, `tampered`, `missing`, `expired`, `unhashed` or `error`.
    pub result: &'static str,
    /// The run (invocation id).
    pub run: String,
}

/// The result name of a verification's outcome (`Err`: the blob could not be read).
pub fn result_of<E>(verdict: &Result<Verdict, E>) -> &'static str {
    match verdict {
        Ok(Verdict::Intact) => "intact",
        Ok(Verdict::Unhashed) => "unhashed",
        Ok(Verdict::Expired) => "expired",
        Ok(Verdict::Finding(f)) if f.kind.name == "recording.missing" => "missing",
        Ok(Verdict::Finding(_)) => "tampered",
        Err(_) => "error",
    }
}

/// Stores `check` as `key`'s latest result unless a later one is stored.
///
/// # Errors
/// Table errors.
pub async fn store(
    tables: &dyn TableStore,
    key: &RecordingKey,
    check: &Check,
) -> Result<(), AzureError> {
    let at = format_utc_millis(check.at);
    let mut change = |current: Option<&crate::tables::Stored>| {
        // Timestamps are fixed-width UTC: text order is time order (the same instant: last wins).
        if current.and_then(|s| get_str(&s.entity, "VerifiedAt")) > Some(at.as_str()) {
            return None;
        }
        Some(entity(json!({"RecordingId": key.id(), "VerifiedAt": at,
            "Result": check.result, "Run": check.run})))
    };
    update(tables, CHECKS_TABLE, &key.pk, &key.rk, &mut change)
        .await
        .map(drop)
}

/// The stored results of recordings created on `day`: row key → (verified at, result).
///
/// # Errors
/// Table errors (an absent table is no result).
pub async fn of_day(
    tables: &dyn TableStore,
    day: &str,
) -> Result<HashMap<String, (String, String)>, AzureError> {
    let rows = query_all(tables, CHECKS_TABLE, &Filter::partition(day), PER_DAY).await?;
    Ok(rows
        .into_iter()
        .filter_map(|s| {
            let e = s.entity;
            Some((
                get_str(&e, "RowKey")?.to_owned(),
                (
                    get_str(&e, "VerifiedAt").unwrap_or_default().to_owned(),
                    get_str(&e, "Result").unwrap_or_default().to_owned(),
                ),
            ))
        })
        .collect())
}
