//! The pack's sessions and recordings, a day at a time through the catalogue's one query with the
//! lists' filter, order and cells; `integrity.csv` is derived from the recordings.

use std::collections::HashMap;

use super::rows::{Facts, Row};
use crate::catalogue::days::DayRow;
use crate::catalogue::query::shape::{Review, Shape};
use crate::catalogue::query::{Query, page};
use crate::catalogue::recording::Recording;
use crate::reviews::annotate::latest;
use crate::tables::TableStore;

/// The columns of `integrity.csv`.
pub const INTEGRITY_COLUMNS: &[&str] = &[
    "id",
    "bastionHost",
    "blobName",
    "contentLength",
    "sha256",
    "hashedLength",
    "status",
    "state",
    "lastVerifiedAt",
    "verification",
];

/// The sessions of `q` that started on `day`.
///
/// # Errors
/// Storage failures.
pub async fn sessions(tables: &dyn TableStore, q: &Query, day: &str) -> anyhow::Result<Vec<Row>> {
    let rows: Vec<DayRow> = page::day(tables, day, q).await?;
    let reviews = latest(tables, &rows).await?;
    Ok(rows
        .into_iter()
        .zip(reviews)
        .map(|(w, review)| Row {
            cells: w.csv_cells(review.as_ref()),
            facts: Facts::Session(Box::new(w)),
        })
        .collect())
}

/// The recordings of `q` created on `day`.
///
/// # Errors
/// Storage failures.
pub async fn recordings(tables: &dyn TableStore, q: &Query, day: &str) -> anyhow::Result<Vec<Row>> {
    let rows: Vec<Recording> = page::day(tables, day, q).await?;
    let reviews = latest(tables, &rows).await?;
    // Results are keyed as the catalogue rows: the same day partition.
    let checks = if rows.is_empty() {
        HashMap::new()
    } else {
        crate::integrity::checks::of_day(tables, day).await?
    };
    Ok(rows
        .into_iter()
        .zip(reviews)
        .map(|(r, review)| {
            let check = checks.get(&r.key.rk);
            recording_row(r, review.as_ref(), check)
        })
        .collect())
}

/// A recording's row; `check` is its latest verification (at, result).
fn recording_row(r: Recording, review: Option<&Review>, check: Option<&(String, String)>) -> Row {
    let state = match &r.hash {
        None => "unhashed",
        Some(h) if h.length != r.content_length => "length-mismatch",
        Some(_) => "hashed",
    };
    let verification = check.map_or_else(|| "never".to_owned(), |c| c.1.clone());
    let hash = r.hash.as_ref();
    let integrity_cells = vec![
        r.id(),
        r.bastion().to_owned(),
        format!("{}/{}", r.container, r.blob_name),
        r.content_length.to_string(),
        hash.map(|h| h.sha256.clone()).unwrap_or_default(),
        hash.map(|h| h.length.to_string()).unwrap_or_default(),
        r.status.clone(),
        state.to_owned(),
        check.map(|c| c.0.clone()).unwrap_or_default(),
        verification.clone(),
    ];
    Row {
        cells: r.csv_cells(review),
        facts: Facts::Recording {
            row: Box::new(r),
            integrity: state,
            verification,
            integrity_cells,
        },
    }
}
