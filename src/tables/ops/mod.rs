//! Table operations every domain shares, over any [`TableStore`]: reads that take an absent table
//! for absent rows ([`get`], [`page`], [`query_all`]), writes that create their table on first use
//! ([`write_creating_table`]), and the one ETag-conditional read-modify-write ([`update`],
//! [`update_from`], [`update_with`]).

use super::{Entity, Filter, QueryPage, Stored, TableStore, WriteMode, strip_annotations};
use crate::azure::AzureError;
use backon::{BackoffBuilder as _, ExponentialBuilder};

/// Attempts of an optimistic read-modify-write before giving up (as a retryable error).
pub const ATTEMPTS: usize = 8;

/// What [`update`] hands a change: the row as stored now (`None` when absent); it returns the
/// entity to write (`PartitionKey`/`RowKey` are set for it) or `None` when there is nothing to write.
pub type Change<'a> = dyn FnMut(Option<&Stored>) -> Option<Entity> + Send + 'a;

/// Rows of the row's partition written or removed in one transaction with it (rows it names).
pub type Companions = Vec<(Entity, WriteMode)>;

/// Reads one row (absent table = absent row).
///
/// # Errors
/// Table errors.
pub async fn get<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    pk: &str,
    rk: &str,
) -> Result<Option<Stored>, AzureError> {
    match tables.get(table, pk, rk).await {
        Err(AzureError::NotFound) => Ok(None),
        other => other,
    }
}

/// One page of at most `top` rows matching `filter` from `continuation` on (absent table = an
/// empty last page).
///
/// # Errors
/// Table errors.
pub async fn page<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    filter: &Filter,
    top: u32,
    continuation: Option<String>,
) -> Result<QueryPage, AzureError> {
    match tables
        .query(table, Some(filter), Some(top), continuation)
        .await
    {
        Err(AzureError::NotFound) => Ok(QueryPage {
            items: Vec::new(),
            next: None,
        }),
        other => other,
    }
}

/// All rows matching `filter`, at most `limit` (absent table = none).
///
/// # Errors
/// Table errors.
pub async fn query_all<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<Stored>, AzureError> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = page(tables, table, filter, 1000, next).await?;
        out.extend(page.items);
        if out.len() >= limit || page.next.is_none() {
            out.truncate(limit);
            return Ok(out);
        }
        next = page.next;
    }
}

/// Writes an entity; if the table does not exist yet, creates it and writes once more (not for
/// `If-Match`, whose 404 means the row is gone).
///
/// # Errors
/// The table store's errors.
pub async fn write_creating_table<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    entity: &Entity,
    mode: WriteMode,
) -> Result<String, AzureError> {
    match tables.write(table, entity, mode.clone()).await {
        Err(AzureError::NotFound) if !matches!(mode, WriteMode::IfMatch(_)) => {
            tables.ensure_table(table).await?;
            tables.write(table, entity, mode).await
        }
        other => other,
    }
}

/// Upserts `rows` of one partition, 100 to an entity group transaction; a chunk the service
/// refuses as a batch (no table yet, a row it rejects) is written row by row, which creates the
/// table and names the failing row.
///
/// # Errors
/// The table store's errors of the row-by-row writes.
pub async fn upsert_batched<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    rows: &[Entity],
) -> Result<(), AzureError> {
    for chunk in rows.chunks(super::MAX_BATCH) {
        let writes: Vec<_> = chunk
            .iter()
            .map(|e| (e.clone(), WriteMode::Upsert))
            .collect();
        if tables.batch(table, &writes).await.is_ok() {
            continue;
        }
        for e in chunk {
            write_creating_table(tables, table, e, WriteMode::Upsert).await?;
        }
    }
    Ok(())
}

/// Reads `(table, pk, rk)` and rewrites it through `change` with [`update_from`].
///
/// # Errors
/// As [`update_from`].
pub async fn update<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    pk: &str,
    rk: &str,
    change: &mut Change<'_>,
) -> Result<Option<Stored>, AzureError> {
    let current = get(tables, table, pk, rk).await?;
    update_from(tables, table, pk, rk, current, change).await
}

/// Lets `change` build the new entity from `current` (the row as just read, `None` when absent)
/// and writes it conditionally: insert when absent, `If-Match` otherwise. A lost race (409, 412,
/// or 404 on `If-Match`) re-reads and asks `change` again, at most [`ATTEMPTS`] times; a write whose
/// answer was lost is recognised then by `change` finding its own work done (and returning
/// `None`). Returns the row now stored: as written, or as read when nothing was to be written.
///
/// # Errors
/// Table errors; `Transient` when the row kept changing.
pub async fn update_from<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    pk: &str,
    rk: &str,
    current: Option<Stored>,
    change: &mut Change<'_>,
) -> Result<Option<Stored>, AzureError> {
    update_with(tables, table, pk, rk, current, |cur| {
        std::future::ready(Ok(change(cur.as_ref()).map(|e| (e, Companions::new()))))
    })
    .await
}

/// [`update_from`] whose `change` does its own I/O before the write it returns: rows that must be
/// written before this one (a session's index row before the session, a recording's index rows
/// before the recording), each attempt again from the row as read then. `change` gets the row as
/// stored now (owned, so its future borrows nothing) and fails the update with its own error.
/// Rows it returns beside the row ([`Companions`]) are written in one transaction with it: a row
/// naming another keeps naming one that exists, whatever fails when.
///
/// # Errors
/// Table errors, `change`'s errors; `Transient` when the row kept changing.
pub async fn update_with<T, F, Fut>(
    tables: &T,
    table: &str,
    pk: &str,
    rk: &str,
    mut current: Option<Stored>,
    mut change: F,
) -> Result<Option<Stored>, AzureError>
where
    T: TableStore + ?Sized,
    F: FnMut(Option<Stored>) -> Fut + Send,
    Fut: Future<Output = Result<Option<(Entity, Companions)>, AzureError>> + Send,
{
    // Writers racing on one row (a backfill joining many recordings to the same sessions) back off
    // with jitter between attempts, so they stop colliding instead of spending every attempt at once.
    let mut pause = ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(5))
        .with_max_delay(std::time::Duration::from_millis(200))
        .with_jitter()
        .without_max_times()
        .build();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            if let Some(d) = pause.next() {
                tokio::time::sleep(d).await;
            }
            current = get(tables, table, pk, rk).await?;
        }
        let Some((mut next, mut companions)) = change(current.clone()).await? else {
            return Ok(current);
        };
        next.insert("PartitionKey".into(), pk.into());
        next.insert("RowKey".into(), rk.into());
        let mode = current
            .as_ref()
            .map_or(WriteMode::Insert, |s| WriteMode::IfMatch(s.etag.clone()));
        let written = if companions.is_empty() {
            write_creating_table(tables, table, &next, mode).await
        } else {
            companions.push((next.clone(), mode));
            let answer = tables.batch(table, &companions).await;
            if let Err(AzureError::NotFound) = answer {
                // A first write to the table, or a companion gone: created, then read again.
                tables.ensure_table(table).await?;
            }
            answer.map(|etags| etags.last().cloned().unwrap_or_default())
        };
        match written {
            Ok(etag) => {
                strip_annotations(&mut next);
                return Ok(Some(Stored { entity: next, etag }));
            }
            Err(AzureError::Conflict | AzureError::PreconditionFailed | AzureError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Err(AzureError::Transient(format!(
        "{table} row kept changing under {ATTEMPTS} attempts"
    )))
}

#[cfg(test)]
mod tests;
