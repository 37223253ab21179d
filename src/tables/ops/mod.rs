//! Table operations every domain shares: reads where an absent table means absent rows, writes that
//! create their table, and the one ETag-conditional read-modify-write ([`update_with`]).

use super::entity::strip_annotations;
use super::filter::Filter;
use super::port::{Entity, MAX_BATCH, QueryPage, Stored, TableStore, WriteMode};
use crate::azure::retry::{Policy, jitter};
use crate::azure::{AzureError, found};

/// Attempts of an optimistic read-modify-write before giving up (as a retryable error).
pub const ATTEMPTS: usize = 8;

/// A change: from the row as stored (`None`: absent) to the entity to write (`None`: nothing).
pub type Change<'a> = dyn FnMut(Option<&Stored>) -> Option<Entity> + Send + 'a;

/// Rows of the row's partition written or removed in one transaction with it (rows it names).
pub type Companions = Vec<(Entity, WriteMode)>;

/// Reads one row (absent table = absent row); errors are the table's.
pub async fn get<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    pk: &str,
    rk: &str,
) -> Result<Option<Stored>, AzureError> {
    Ok(found(tables.get(table, pk, rk).await)?.flatten())
}

/// One page of at most `top` rows matching `filter` (absent table = an empty last page).
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
        Err(AzureError::NotFound) => Ok(QueryPage::default()),
        other => other,
    }
}

/// All rows matching `filter`, at most `limit` (absent table = none). A page asks for no more
/// than the rows still wanted; the service may answer a filtered page short, with a continuation.
pub async fn query_all<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<Stored>, AzureError> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let want = u32::try_from(limit.saturating_sub(out.len())).unwrap_or(1000);
        let page = page(tables, table, filter, want.clamp(1, 1000), next).await?;
        out.extend(page.items);
        if out.len() >= limit || page.next.is_none() {
            out.truncate(limit);
            return Ok(out);
        }
        next = page.next;
    }
}

/// Deletes a row (only while its ETag is `etag`, when given); a row already gone, or changed since
/// it was read, is not an error: either way this reader's work on it is done.
pub async fn remove<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    pk: &str,
    rk: &str,
    etag: Option<&str>,
) -> Result<(), AzureError> {
    match tables.delete(table, pk, rk, etag).await {
        Ok(()) | Err(AzureError::NotFound | AzureError::PreconditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `entity` read at `etag` (`If-Match`), unless it changed or went since: then another
/// writer came first and its row stands.
pub async fn write_unless_changed<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    entity: &Entity,
    etag: String,
) -> Result<(), AzureError> {
    match tables.write(table, entity, WriteMode::IfMatch(etag)).await {
        Ok(_) | Err(AzureError::PreconditionFailed | AzureError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes an entity, creating a missing table first (not for `If-Match`: its 404 means row gone).
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

/// What [`insert_once`] found under the row's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once {
    /// Written now, with its ETag.
    Inserted(String),
    /// A row was already there (a retry meeting its first attempt, or another writer first).
    Existed,
}

/// Inserts `entity` (creating a missing table) unless a row already stands under its keys: a
/// conflict means it is there, which is no error.
pub async fn insert_once<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    entity: &Entity,
) -> Result<Once, AzureError> {
    match write_creating_table(tables, table, entity, WriteMode::Insert).await {
        Ok(etag) => Ok(Once::Inserted(etag)),
        Err(AzureError::Conflict) => Ok(Once::Existed),
        Err(e) => Err(e),
    }
}

/// Upserts `rows` of one partition in batches; a batch refused for a missing table is sent again
/// once the table is created (not one write per row), any other refused batch is written row by
/// row, which names the failing row. Returns each row's new ETag in order.
///
/// # Errors
/// The first failing row's error.
pub async fn upsert_batched<T: TableStore + ?Sized>(
    tables: &T,
    table: &str,
    rows: &[Entity],
) -> Result<Vec<String>, AzureError> {
    let mut etags = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(MAX_BATCH) {
        let writes: Vec<_> = chunk
            .iter()
            .map(|e| (e.clone(), WriteMode::Upsert))
            .collect();
        let sent = match tables.batch(table, &writes).await {
            Err(AzureError::NotFound) => {
                tables.ensure_table(table).await?;
                tables.batch(table, &writes).await
            }
            other => other,
        };
        if let Ok(tags) = sent {
            etags.extend(tags);
            continue;
        }
        for e in chunk {
            etags.push(write_creating_table(tables, table, e, WriteMode::Upsert).await?);
        }
    }
    Ok(etags)
}

/// Reads `(table, pk, rk)` and rewrites it through `change` with [`update_from`].
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

/// Writes `change(current)` conditionally (insert, else `If-Match`); a lost race re-reads and asks
/// `change` again (a lost answer shows as its work done). Returns the row now stored.
///
/// # Errors
/// Table errors; `Transient` when the row kept changing for [`ATTEMPTS`] attempts.
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

/// [`update_from`] whose async `change` may first write rows this one names (index rows), and
/// returns [`Companions`] written in one transaction with it, so a named row always exists.
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
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            let lost = u32::try_from(attempt).unwrap_or(u32::MAX);
            tokio::time::sleep(Policy::RACE.backoff(lost, jitter())).await;
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
