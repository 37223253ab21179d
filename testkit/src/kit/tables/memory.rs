//! In-memory [`TableStore`] for fast unit and component tests.
//!
//! Mimics the service's observable behaviour: ETags change on every write, insert conflicts (409),
//! stale `If-Match` (412), ordered results, paging with continuation tokens. It is held to the same
//! contract suite as the REST client.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use bastion_recordings::tables::keys;
use bastion_recordings::tables::{
    Entity, Filter, QueryPage, Stored, TableStore, WriteMode, get_str, is_annotation,
};

use bastion_recordings::azure::AzureError;

type Key = (String, String);

/// A stored row: the entity without its OData annotations (the service does not store them).
#[derive(Debug)]
struct Row {
    entity: Entity,
    etag: String,
}

impl Row {
    fn new(entity: &Entity, etag: &str) -> Self {
        // A clone keeps the map's shape; collecting a filtered iterator re-sorted every row (the
        // largest cost of an in-memory write in the loopback benchmark's profile).
        let mut entity = entity.clone();
        entity.retain(|k, _| !is_annotation(k));
        Self {
            entity,
            etag: etag.to_owned(),
        }
    }

    fn stored(&self) -> Stored {
        Stored {
            entity: self.entity.clone(),
            etag: self.etag.clone(),
        }
    }
}

/// Tables held in memory; cheap to create per test.
#[derive(Debug)]
pub struct InMemoryTables {
    tables: Mutex<BTreeMap<String, BTreeMap<Key, Row>>>,
    version: AtomicU64,
    calls: AtomicU64,
    /// Queries made so far, per table.
    queries: Mutex<BTreeMap<String, u64>>,
    interleave: bool,
}

impl Default for InMemoryTables {
    fn default() -> Self {
        Self {
            tables: Mutex::default(),
            version: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            queries: Mutex::default(),
            interleave: true,
        }
    }
}

impl InMemoryTables {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops yielding to the scheduler on every call. The yield makes concurrent tests race like
    /// they would over the network; the `handler` binary's in-memory mode (benchmarks, demos)
    /// turns it off, since each yield is a trip through the scheduler that no real store costs
    /// in that form, and correctness never depends on it (every write is checked under the lock).
    pub fn without_interleaving(mut self) -> Self {
        self.interleave = false;
        self
    }

    /// Number of calls made so far (used by tests that count storage round trips).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Number of queries of `table` made so far (tests that count a table's queries).
    pub fn queries(&self, table: &str) -> u64 {
        let queries = self.queries.lock().unwrap_or_else(|p| p.into_inner());
        queries.get(table).copied().unwrap_or(0)
    }

    /// All entities of one table, in key order.
    pub fn dump(&self, table: &str) -> Vec<Stored> {
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables
            .get(table)
            .map(|t| t.values().map(Row::stored).collect())
            .unwrap_or_default()
    }

    fn next_etag(&self) -> String {
        // Concatenated, not `format!`ed: one per write, and the handler's in-memory mode serves
        // the throughput benchmark.
        let n = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        ["W/\"mem-", &n.to_string(), "\""].concat()
    }

    /// Counts a call and (unless built [`without_interleaving`](Self::without_interleaving))
    /// yields once, so concurrent callers interleave the way they would against the network
    /// (races in tests are real races, not sequential runs).
    async fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.interleave {
            tokio::task::yield_now().await;
        }
    }
}

fn keys_of(entity: &Entity) -> Result<Key, AzureError> {
    let pk = get_str(entity, "PartitionKey")
        .ok_or_else(|| AzureError::Permanent("PartitionKey missing".into()))?;
    let rk =
        get_str(entity, "RowKey").ok_or_else(|| AzureError::Permanent("RowKey missing".into()))?;
    check_keys(pk, rk)
}

/// The service's size limits, which it answers with 400: a string property holds at most 64 KiB
/// (32K UTF-16 code units), an entity at most 1 MiB.
fn check_size(entity: &Entity) -> Result<(), AzureError> {
    const MAX_UNITS: usize = 32 * 1024;
    // A string has no more UTF-16 units than UTF-8 bytes, so only longer ones need counting.
    let too_long = entity
        .values()
        .filter_map(serde_json::Value::as_str)
        .filter(|v| v.len() > MAX_UNITS)
        .any(|v| v.encode_utf16().count() > MAX_UNITS);
    if too_long {
        return Err(AzureError::refused(400, "PropertyValueTooLarge", ""));
    }
    const MAX: usize = 1 << 20;
    // Written out only when the bound cannot rule it out: a catalogue row is a few KiB.
    let over = match json_size_bound(entity) {
        Some(bound) if bound <= MAX => false,
        _ => serde_json::to_vec(entity).map_or(0, |b| b.len()) > MAX,
    };
    if over {
        return Err(AzureError::refused(400, "EntityTooLarge", ""));
    }
    Ok(())
}

/// An upper bound on the entity's JSON length, without writing it: escaping makes a byte at most
/// six (`\u001f`), a number or literal is under 40 characters; `None` for arrays and objects.
fn json_size_bound(entity: &Entity) -> Option<usize> {
    entity.iter().try_fold(2, |sum, (key, value)| {
        let value = match value {
            serde_json::Value::String(s) => 6 * s.len() + 2,
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => return None,
            _ => 40,
        };
        Some(sum + 6 * key.len() + 4 + value)
    })
}

/// The service rejects `/ \ # ?` and control characters in keys (400); so does the fake.
fn check_keys(pk: &str, rk: &str) -> Result<Key, AzureError> {
    keys::check_keys(pk, rk)?;
    Ok((pk.to_owned(), rk.to_owned()))
}

/// A checked write, ready to apply: its key, and the row it leaves (`None`: removed).
type Change = (Key, Option<Row>);

impl InMemoryTables {
    /// The key and new row of one write (checked against the service's limits, not yet against
    /// what is stored).
    fn change(&self, entity: &Entity, mode: &WriteMode) -> Result<Change, AzureError> {
        let key = keys_of(entity)?;
        if let WriteMode::Delete(_) = mode {
            return Ok((key, None));
        }
        check_size(entity)?;
        // Serialized before taking the lock that every call of every worker goes through.
        Ok((key, Some(Row::new(entity, &self.next_etag()))))
    }
}

/// Whether `mode` may write the row at `key`, given what `rows` hold.
fn check(rows: &BTreeMap<Key, Row>, key: &Key, mode: &WriteMode) -> Result<(), AzureError> {
    match (mode, rows.get(key)) {
        (WriteMode::Insert, Some(_)) => Err(AzureError::Conflict),
        (WriteMode::IfMatch(_) | WriteMode::Delete(_), None) => Err(AzureError::NotFound),
        (WriteMode::IfMatch(want) | WriteMode::Delete(want), Some(have))
            if want != "*" && **want != *have.etag =>
        {
            Err(AzureError::PreconditionFailed)
        }
        _ => Ok(()),
    }
}

/// Applies a checked write; its new ETag (`""` for a removal).
fn apply(rows: &mut BTreeMap<Key, Row>, (key, row): Change) -> String {
    match row {
        Some(row) => {
            let etag = row.etag.clone();
            rows.insert(key, row);
            etag
        }
        None => {
            rows.remove(&key);
            String::new()
        }
    }
}

#[async_trait]
impl TableStore for InMemoryTables {
    async fn ensure_table(&self, table: &str) -> Result<(), AzureError> {
        self.count().await;
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.entry(table.to_owned()).or_default();
        Ok(())
    }

    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, AzureError> {
        self.count().await;
        let key = check_keys(pk, rk)?;
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        Ok(tables.get(table).and_then(|t| t.get(&key)).map(Row::stored))
    }

    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, AzureError> {
        self.count().await;
        let change = self.change(entity, &mode)?;
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        // Like the service: writing to a table that was never created is 404 TableNotFound.
        let rows = tables.get_mut(table).ok_or(AzureError::NotFound)?;
        check(rows, &change.0, &mode)?;
        Ok(apply(rows, change))
    }

    /// All or nothing, like the service's entity group transaction: every write is checked under
    /// the lock before any is applied.
    async fn batch(
        &self,
        table: &str,
        writes: &[(Entity, WriteMode)],
    ) -> Result<Vec<String>, AzureError> {
        self.count().await;
        if writes.len() > bastion_recordings::tables::MAX_BATCH {
            return Err(AzureError::refused(400, "InvalidInput", ""));
        }
        let mut changes = Vec::with_capacity(writes.len());
        for (entity, mode) in writes {
            let change = self.change(entity, mode)?;
            let same = |c: &Change| c.0 == change.0;
            if changes
                .first()
                .is_some_and(|c: &Change| c.0.0 != change.0.0)
                || changes.iter().any(same)
            {
                // One partition, each row once (the service's rules for a transaction).
                return Err(AzureError::refused(400, "InvalidInput", ""));
            }
            changes.push(change);
        }
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let rows = tables.get_mut(table).ok_or(AzureError::NotFound)?;
        for ((key, _), (_, mode)) in changes.iter().zip(writes) {
            check(rows, key, mode)?;
        }
        Ok(changes.into_iter().map(|c| apply(rows, c)).collect())
    }

    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), AzureError> {
        self.count().await;
        let key = check_keys(pk, rk)?;
        let mode = WriteMode::Delete(etag.unwrap_or("*").to_owned());
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let rows = tables.get_mut(table).ok_or(AzureError::NotFound)?;
        check(rows, &key, &mode)?;
        rows.remove(&key);
        Ok(())
    }

    async fn list_tables(&self, prefix: &str) -> Result<Vec<String>, AzureError> {
        self.count().await;
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        Ok(tables
            .keys()
            .filter(|t| t.starts_with(prefix))
            .cloned()
            .collect())
    }

    async fn delete_table(&self, table: &str) -> Result<(), AzureError> {
        self.count().await;
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.remove(table).map(drop).ok_or(AzureError::NotFound)
    }

    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, AzureError> {
        self.count().await;
        {
            let mut queries = self.queries.lock().unwrap_or_else(|p| p.into_inner());
            *queries.entry(table.to_owned()).or_default() += 1;
        }
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let Some(rows) = tables.get(table) else {
            return Err(AzureError::NotFound);
        };
        let limit = top.unwrap_or(1000).clamp(1, 1000) as usize;
        // A token we did not issue is an error, not a silent restart from the first row.
        let start = match continuation.as_deref() {
            Some(c) => Some(
                c.split_once('\u{1f}')
                    .ok_or_else(|| AzureError::Permanent("invalid continuation token".into()))?,
            ),
            None => None,
        };
        let mut items = Vec::new();
        let mut next = None;
        // Like the service, a query pinned to one partition reads only that partition (the
        // benchmarks and the catalogue's day queries would otherwise scan the whole fake).
        let from = match (start, filter.and_then(super::filter::pinned_partition)) {
            (Some((spk, srk)), _) => (spk.to_owned(), srk.to_owned()),
            (None, Some(pk)) => (pk.to_owned(), String::new()),
            (None, None) => (String::new(), String::new()),
        };
        let pinned = filter.and_then(super::filter::pinned_partition);
        for ((pk, rk), row) in rows.range(from..) {
            if pinned.is_some_and(|p| p != pk) {
                break;
            }
            let stored = row.stored();
            if !filter.is_none_or(|f| super::filter::matches(f, &stored.entity)) {
                continue;
            }
            if items.len() == limit {
                next = Some(format!("{pk}\u{1f}{rk}"));
                break;
            }
            items.push(stored);
        }
        Ok(QueryPage { items, next })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Entity, Row, check_size, json_size_bound};

    fn entity(props: usize, value: &str) -> Entity {
        (0..props)
            .map(|i| (format!("P{i}"), Value::from(value)))
            .chain([(
                "Size".to_owned(),
                Value::from(-1.234_567_890_123_456_7e-300),
            )])
            .collect()
    }

    #[test]
    fn the_size_bound_is_never_below_the_written_length() {
        for value in [
            "",
            "plain",
            "\u{1}\u{1f}\"\\",
            "é€😀",
            &"\u{7}".repeat(5000),
        ] {
            let e = entity(7, value);
            let written = serde_json::to_vec(&e).expect("json").len();
            assert!(
                json_size_bound(&e).expect("scalars") >= written,
                "{value:?}"
            );
        }
        assert_eq!(
            json_size_bound(
                &entity(1, "x")
                    .into_iter()
                    .chain([("A".into(), json!([1]))])
                    .collect()
            ),
            None
        );
    }

    #[test]
    fn entities_over_one_mebibyte_are_refused_like_the_service() {
        // 40 × 20,000 characters: 800 kB, accepted; 60 of them: 1.2 MB, refused.
        assert!(check_size(&entity(40, &"a".repeat(20_000))).is_ok());
        assert!(check_size(&entity(60, &"a".repeat(20_000))).is_err());
        // Short strings that escape sixfold: 40 × 5,000 control characters write 1.2 MB.
        assert!(check_size(&entity(40, &"\u{1}".repeat(5_000))).is_err());
        assert!(
            check_size(&entity(1, &"a".repeat(40_000))).is_err(),
            "a property over 32K"
        );
        // Counted in UTF-16 units, not bytes: 20,000 two-byte characters are 40,000 bytes but
        // 20,000 units; 17,000 characters outside the BMP are 34,000 units in 68,000 bytes.
        assert!(check_size(&entity(1, &"é".repeat(20_000))).is_ok());
        assert!(check_size(&entity(1, &"😀".repeat(17_000))).is_err());
        assert!(check_size(&entity(1, &"😀".repeat(16_000))).is_ok());
    }

    #[test]
    fn rows_are_stored_without_annotations() {
        let Value::Object(entity) = json!({
            "PartitionKey": "2025-03-14", "RowKey": "a", "Size": 8_388_608,
            "Size@odata.type": "Edm.Int64", "Nested": {"k": [1]},
        }) else {
            unreachable!("an object literal")
        };
        let kept: Entity = entity
            .iter()
            .filter(|(k, _)| !k.contains("@odata."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let row = Row::new(&entity, "W/\"1\"");
        assert_eq!(row.stored().entity, kept);
        assert_eq!(row.stored().etag, "W/\"1\"");
    }
}
