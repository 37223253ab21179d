//! Table `recordingkeys`: the GUIDs each recording names (PK = the GUID, keyed as the tunnel id it
//! may be; RK = the recording id, digested when too long), so a session seen for the first time
//! finds the recordings that named it before it existed.

use std::collections::HashMap;

use super::recording::{Recording, RecordingKey};
use super::session::tunnel_key;
use crate::azure::AzureError;
use crate::tables::keys::MAX_KEY_BYTES;
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

/// Table of the GUIDs recordings name.
pub const RECORDING_KEYS_TABLE: &str = "recordingkeys";

/// Most recordings one GUID is read for.
const MAX_NAMING: usize = 100;
/// Fewest GUIDs looked up at once for which the whole table is read first ([`naming_each`]).
pub const SCAN_FROM: usize = 100;
/// GUIDs looked up per page of the whole table read before it is given up for one query per GUID:
/// a table too large to read costs at most a tenth more calls than the per-GUID queries.
const GUIDS_PER_PAGE: usize = 10;

/// Records every GUID `r` names (idempotent).
pub async fn index(tables: &dyn TableStore, r: &Recording) -> Result<(), AzureError> {
    for guid in &r.candidate_keys {
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), tunnel_key(guid).into());
        e.insert("RowKey".into(), r.key.id_key(MAX_KEY_BYTES).into());
        e.insert("RecordingId".into(), r.key.id().into());
        write_creating_table(tables, RECORDING_KEYS_TABLE, &e, WriteMode::Upsert).await?;
    }
    Ok(())
}

/// The recordings that name `tunnel` (one partition).
pub async fn naming(
    tables: &dyn TableStore,
    tunnel: &str,
) -> Result<Vec<RecordingKey>, AzureError> {
    let filter = Filter::partition(&tunnel_key(tunnel));
    let rows = query_all(tables, RECORDING_KEYS_TABLE, &filter, MAX_NAMING).await?;
    Ok(rows
        .iter()
        .filter_map(|s| RecordingKey::of_row(&s.entity))
        .collect())
}

/// The recordings that name each of `tunnels`, as [`naming`] gives them for each. From
/// [`SCAN_FROM`] tunnels on, the whole table is read first, page by page (a query costs one call
/// whatever it holds, and a backfill looks up hundreds of new sessions at once): when it ends within
/// a tenth of a page per tunnel, its rows answer every tunnel; else one query per tunnel does.
///
/// # Errors
/// Table errors.
pub async fn naming_each(
    tables: &dyn TableStore,
    tunnels: &[String],
) -> Result<Vec<Vec<RecordingKey>>, AzureError> {
    if tunnels.len() >= SCAN_FROM
        && let Some(rows) = whole_table(tables, tunnels.len() / GUIDS_PER_PAGE).await?
    {
        let mut by_pk: HashMap<&str, Vec<&Entity>> = HashMap::new();
        for e in &rows {
            by_pk
                .entry(get_str(e, "PartitionKey").unwrap_or_default())
                .or_default()
                .push(e);
        }
        return Ok(tunnels
            .iter()
            .map(|t| {
                let rows = by_pk.get(tunnel_key(t).as_str());
                let rows = rows.map(Vec::as_slice).unwrap_or_default();
                rows.iter()
                    .take(MAX_NAMING)
                    .filter_map(|e| RecordingKey::of_row(e))
                    .collect()
            })
            .collect());
    }
    let mut out = Vec::with_capacity(tunnels.len());
    for t in tunnels {
        out.push(naming(tables, t).await?);
    }
    Ok(out)
}

/// Every row of the table, in key order, when it reads in at most `pages` pages (absent table:
/// none); `None` when it does not.
async fn whole_table(
    tables: &dyn TableStore,
    pages: usize,
) -> Result<Option<Vec<Entity>>, AzureError> {
    let (mut rows, mut next) = (Vec::new(), None);
    for _ in 0..pages {
        let page = match tables
            .query(RECORDING_KEYS_TABLE, None, Some(1000), next)
            .await
        {
            Err(AzureError::NotFound) => return Ok(Some(Vec::new())),
            other => other?,
        };
        rows.extend(page.items.into_iter().map(|s| s.entity));
        next = page.next;
        if next.is_none() {
            return Ok(Some(rows));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::tables::intercept::CountingTables;
    use crate::tables::memory::InMemoryTables;

    /// Indexes recording `n` as naming `guid`, as [`index`] writes it.
    async fn named(tables: &dyn TableStore, guid: &str, n: usize) {
        let key = RecordingKey::for_source_blob(
            datetime!(2025-03-14 10:00 UTC),
            "a",
            "recordings",
            &format!("r{n}.webm"),
        );
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), tunnel_key(guid).into());
        e.insert("RowKey".into(), key.id_key(MAX_KEY_BYTES).into());
        e.insert("RecordingId".into(), key.id().into());
        write_creating_table(tables, RECORDING_KEYS_TABLE, &e, WriteMode::Upsert)
            .await
            .expect("index row");
    }

    /// `tunnels` GUIDs, every third named by two recordings, and `others` rows naming other GUIDs.
    async fn table(tunnels: usize, others: usize) -> (CountingTables<InMemoryTables>, Vec<String>) {
        let tables = CountingTables::new(InMemoryTables::new());
        let guids: Vec<String> = (0..tunnels).map(|i| format!("guid-{i:05}")).collect();
        for (i, g) in guids.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
            named(&tables, g, 2 * i).await;
            named(&tables, g, 2 * i + 1).await;
        }
        for n in 0..others {
            named(&tables, &format!("other-{n:05}"), 1_000_000 + n).await;
        }
        (tables, guids)
    }

    #[tokio::test]
    async fn many_guids_are_answered_by_reading_the_table_once_as_one_query_each_would() {
        let (tables, guids) = table(SCAN_FROM, 500).await;
        let mut each = Vec::new();
        for g in &guids {
            each.push(naming(&tables, g).await.expect("one"));
        }
        let before = tables.total();
        let all = naming_each(&tables, &guids).await.expect("all");
        assert_eq!(tables.total() - before, 1, "one page holds the whole table");
        assert_eq!(all, each);
        assert_eq!(
            all.iter().filter(|k| k.len() == 2).count(),
            SCAN_FROM.div_ceil(3)
        );
        // Fewer GUIDs than SCAN_FROM: one query each.
        let before = tables.total();
        let few = naming_each(&tables, &guids[..10]).await.expect("few");
        assert_eq!((tables.total() - before, few), (10, each[..10].to_vec()));
    }

    #[tokio::test]
    async fn a_table_too_large_to_read_costs_at_most_a_tenth_more_than_one_query_each() {
        // More rows than SCAN_FROM / 10 pages of 1,000 hold.
        let (tables, guids) = table(SCAN_FROM, SCAN_FROM * 100).await;
        let mut each = Vec::new();
        for g in &guids {
            each.push(naming(&tables, g).await.expect("one"));
        }
        let before = tables.total();
        let all = naming_each(&tables, &guids).await.expect("all");
        assert_eq!(all, each);
        let calls = u64::try_from(SCAN_FROM + SCAN_FROM / 10).expect("small");
        assert_eq!(tables.total() - before, calls);
    }
}
