//! The latest review shown beside recordings and sessions in the existing lists: one
//! `reviewlatest` partition query per distinct day of a page (never a read per row), its verdict,
//! reviewer and time copied into each row as `ReviewVerdict`, `Reviewer`, `ReviewedAt`.

use super::model::{Kind, Subject};
use super::period::latest_of_days;
use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::tables::{Entity, TableStore, get_str};

/// Where a row's latest review lives: the subject kind and the property holding its id.
#[derive(Debug, Clone, Copy)]
pub enum Rows {
    /// Catalogue rows (`PartitionKey` = creation day, `RecordingId`).
    Recordings,
    /// `sessionwindows` rows (`PartitionKey` = start day, `RowKey` = tunnel id).
    Sessions,
}

fn key(rows: Rows, e: &Entity) -> Option<(String, String)> {
    let (kind, prop) = match rows {
        Rows::Recordings => (Kind::Recording, "RecordingId"),
        Rows::Sessions => (Kind::Session, "RowKey"),
    };
    let subject = Subject {
        kind,
        id: get_str(e, prop)?.to_owned(),
    };
    Some((get_str(e, "PartitionKey")?.to_owned(), subject.latest_rk()))
}

/// Adds each row's latest review (absent: nothing added).
///
/// # Errors
/// Table errors.
pub async fn annotate(
    tables: &dyn TableStore,
    rows: &mut [Entity],
    kind: Rows,
) -> Result<(), AzureError> {
    let keys: Vec<Option<(String, String)>> = rows.iter().map(|e| key(kind, e)).collect();
    let days: Vec<String> = keys.iter().flatten().map(|(d, _)| d.clone()).collect();
    let latest = latest_of_days(tables, &days).await?;
    for (e, k) in rows.iter_mut().zip(keys) {
        if let Some(r) = k.and_then(|(_, rk)| latest.get(&rk)) {
            e.insert("ReviewVerdict".into(), r.verdict.as_str().into());
            e.insert("Reviewer".into(), r.reviewer.clone().into());
            e.insert("ReviewedAt".into(), format_utc_millis(r.at).into());
        }
    }
    Ok(())
}
