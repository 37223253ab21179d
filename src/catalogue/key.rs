//! A catalogue row's key and the two indexes that find it without one. Table `recordings` is keyed
//! by the blob's creation day (stable for its life, so every time-bounded query reads a range of
//! partitions) and base64url(`account:container/blob`), or a digest past the 1 KiB key limit (the
//! scheme is in docs/catalogue.md). Table `recordingkeys` holds the GUIDs each recording names
//! (PK = the GUID, keyed as the tunnel id it may be; RK = the recording id, digested when too
//! long), so a session seen for the first time finds the recordings that named it before it
//! existed. Table `recordingindex` holds the catalogue's filters by VM and by user without reading
//! every day partition: a row (`vm~`/`user~` + base64url value, sort time `~` id) carries only the
//! recording id; hits are re-checked, so a stale row costs a read, never a wrong row. The join pass
//! writes them before the recordings. (A blob's rows by name, for `BlobDeleted` events, are the
//! path index of [`super::repo`].)

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::{StreamExt as _, TryStreamExt as _, stream};
use time::OffsetDateTime;

use super::query::Listed;
use super::session::tunnel_key;
use crate::azure::AzureError;
use crate::dates::{format_date, format_utc_millis};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, decode_key, is_digest, is_valid_key, key};
use crate::tables::ops::{query_all, upsert_batched, write_creating_table};
use crate::tables::{Entity, Filter, IN_FLIGHT, TableStore, WriteMode, get_str};

/// The address of a catalogue row; its text form `YYYY-MM-DD~<rowkey>` is the public recording id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordingKey {
    /// Creation day.
    pub pk: String,
    /// base64url(`account:container/blob`), or `sha256.<hex>` for a path too long for a key.
    pub rk: String,
}

/// Where a key's blob lives, as the key spells it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// The storage account.
    pub account: String,
    /// Container.
    pub container: String,
    /// Blob name.
    pub name: String,
}

impl RecordingKey {
    /// The key of `container/blob` of `account`, created at `created`.
    pub fn for_source_blob(
        created: OffsetDateTime,
        account: &str,
        container: &str,
        blob: &str,
    ) -> Self {
        let path = [account, ":", container, "/", blob].concat();
        let rk = key(&path, Spelling::Encoded, MAX_KEY_BYTES);
        Self {
            pk: format_date(created.date()),
            rk,
        }
    }

    /// The public id.
    pub fn id(&self) -> String {
        [self.pk.as_str(), "~", &self.rk].concat()
    }

    /// The public id as (part of) a table key leaving it `room` bytes, through the one encoder
    /// ([`key`]): a digest where it does not fit; rows keyed so carry the id in `RecordingId`.
    pub fn id_key(&self, room: usize) -> String {
        key(&self.id(), Spelling::Verbatim, room)
    }

    /// The recording a row keyed by [`id_key`](Self::id_key) names (its `RecordingId`).
    pub fn of_row(e: &crate::tables::Entity) -> Option<Self> {
        crate::tables::get_str(e, "RecordingId").and_then(Self::parse)
    }

    /// Parses a public id.
    pub fn parse(id: &str) -> Option<Self> {
        let (pk, rk) = id.split_once('~')?;
        let valid_day = pk.len() == 10
            && pk.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        // A key the service would refuse names no stored row: a 400, never a failed storage call.
        let valid_key = is_digest(rk) || (is_valid_key(rk) && decode_key(rk).is_some());
        (valid_day && valid_key).then(|| Self {
            pk: pk.to_owned(),
            rk: rk.to_owned(),
        })
    }

    /// The blob this key spells out; `None` for a digest key (read the row's `Account`,
    /// `Container` and `BlobName`) or a key that is not ours.
    pub fn blob(&self) -> Option<KeyPath> {
        if is_digest(&self.rk) {
            return None;
        }
        let path = decode_key(&self.rk)?;
        let (head, name) = path.split_once('/')?;
        let (account, container) = head.split_once(':')?;
        Some(KeyPath {
            account: account.to_owned(),
            container: container.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// Table of the GUIDs recordings name.
pub const RECORDING_KEYS_TABLE: &str = "recordingkeys";

/// Most recordings one GUID is read for.
const MAX_NAMING: usize = 100;
/// Fewest GUIDs looked up at once for which the whole table is read first ([`naming_each`]).
pub const SCAN_FROM: usize = 100;
/// GUIDs looked up per page of the whole table read before it is given up for one query per GUID:
/// a table too large to read costs at most a tenth more calls than the per-GUID queries.
const GUIDS_PER_PAGE: usize = 10;

/// Records every GUID in `guids` as named by the recording `key` (idempotent).
pub async fn put_guids(
    tables: &dyn TableStore,
    key: &RecordingKey,
    guids: &[String],
) -> Result<(), AzureError> {
    for guid in guids {
        let mut e = crate::tables::keyed(tunnel_key(guid), key.id_key(MAX_KEY_BYTES));
        e.insert("RecordingId".into(), key.id().into());
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

/// Table of index rows.
pub const INDEX_TABLE: &str = "recordingindex";
/// Longest value indexed (its key stays well under the 1 KiB key limit).
pub const MAX_INDEXED_VALUE: usize = 700;

/// The index partition of filter `kind` (`vm` / `user`) for a value; `None` when it cannot be
/// indexed.
pub fn index_partition(kind: &str, value: &str) -> Option<String> {
    let v = value.trim().to_lowercase();
    let room = MAX_KEY_BYTES - kind.len() - 1;
    (!v.is_empty() && v.len() <= MAX_INDEXED_VALUE)
        .then(|| [kind, "~", &key(&v, Spelling::Encoded, room)].concat())
}

/// The index `RowKey` prefix of a sort time: rows at or after `t` have keys `>=` this.
pub fn index_time_key(t: OffsetDateTime) -> String {
    format_utc_millis(t)
}

/// The `(PartitionKey, RowKey)` pairs row `r` of recording `recording` is indexed under (sorted,
/// unique).
pub fn index_keys<L: Listed>(recording: &RecordingKey, r: &L) -> Vec<(String, String)> {
    // An id too long for the room the sort time leaves is not indexed: a digest names no row.
    let id = recording.id_key(MAX_KEY_BYTES - 25);
    if is_digest(&id) {
        return Vec::new();
    }
    let row = format!("{}~{id}", index_time_key(r.time()));
    let mut out: Vec<(String, String)> = L::INDEXED
        .iter()
        .flat_map(|kind| r.values(kind).into_iter().map(move |v| (*kind, v)))
        .filter_map(|(kind, v)| index_partition(kind, v))
        .map(|pk| (pk, row.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn index_entity(pk: &str, rk: &str) -> Entity {
    let mut e = crate::tables::keyed(pk, rk);
    let id = rk.split_once('~').map_or("", |(_, id)| id);
    e.insert("RecordingId".into(), id.into());
    e
}

/// Upserts index rows `keys`, batched per partition, [`IN_FLIGHT`] partitions at once. The first
/// partition goes alone: on a new deployment it creates the table once, not once per call in flight.
pub async fn put_index(
    tables: &dyn TableStore,
    keys: &BTreeSet<(String, String)>,
) -> Result<(), AzureError> {
    let mut by_pk: BTreeMap<&str, Vec<Entity>> = BTreeMap::new();
    for (pk, rk) in keys {
        by_pk.entry(pk).or_default().push(index_entity(pk, rk));
    }
    let mut partitions = by_pk.values();
    let Some(first) = partitions.next() else {
        return Ok(());
    };
    upsert_batched(tables, INDEX_TABLE, first).await?;
    let puts: Vec<_> = partitions
        .map(|rows| upsert_batched(tables, INDEX_TABLE, rows))
        .collect();
    stream::iter(puts)
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await
        .map(drop)
}

/// Deletes index rows `keys` (already gone is fine), [`IN_FLIGHT`] at once.
pub async fn remove_index(
    tables: &dyn TableStore,
    keys: &BTreeSet<(String, String)>,
) -> Result<(), AzureError> {
    let deletes: Vec<_> = keys
        .iter()
        .map(|(pk, rk)| crate::tables::ops::remove(tables, INDEX_TABLE, pk, rk, None))
        .collect();
    stream::iter(deletes)
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn keys_round_trip_and_reject_garbage() {
        let k = RecordingKey::for_source_blob(
            datetime!(2025-03-14 23:00 UTC),
            "acct",
            "recordings",
            "a/b=c/PLACEHOLDER-1",
        );
        assert_eq!(k.pk, "2025-03-14");
        assert_eq!(RecordingKey::parse(&k.id()), Some(k.clone()));
        assert_eq!(
            k.blob(),
            Some(KeyPath {
                account: "acct".into(),
                container: "recordings".into(),
                name: "a/b=c/PLACEHOLDER-1".into()
            })
        );
        for bad in [
            "",
            "2025-03-14",
            "2025-3-14~YQ",
            "abcd-ef-gh~YQ",
            "2025-03-14~!!",
        ] {
            assert_eq!(RecordingKey::parse(bad), None, "{bad}");
        }
        let too_long = format!("2025-03-14~{}", "A".repeat(2000));
        assert_eq!(
            RecordingKey::parse(&too_long),
            None,
            "longer than a table key"
        );
    }

    #[test]
    fn other_sources_carry_their_account_and_long_paths_are_digested() {
        let t = datetime!(2025-03-14 23:00 UTC);
        let own = RecordingKey::for_source_blob(t, "stneu", "recordings", "a:b/c");
        let other = RecordingKey::for_source_blob(t, "stweu", "recordings", "a:b/c");
        assert_ne!(own, other, "two accounts, one name: two rows");
        let path = own.blob().expect("spelled out");
        assert_eq!(path.account, "stneu");
        assert_eq!(
            (path.container.as_str(), path.name.as_str()),
            ("recordings", "a:b/c")
        );

        let name = "n".repeat(1024);
        let long = RecordingKey::for_source_blob(t, "stneu", "recordings", &name);
        assert!(is_digest(&long.rk) && long.blob().is_none(), "{long:?}");
        assert!(is_valid_key(&long.rk) && long.rk.len() == 71);
        assert_eq!(RecordingKey::parse(&long.id()), Some(long.clone()));
        let other = RecordingKey::for_source_blob(t, "stweu", "recordings", &name);
        assert_ne!(long, other, "the account is part of the digest");
        assert_eq!(RecordingKey::parse("2025-03-14~sha256.XYZ"), None);
    }
}

#[cfg(test)]
mod guid_tests {
    use time::macros::datetime;

    use super::*;
    use crate::testkit::tables::intercept::CountingTables;
    use crate::testkit::tables::memory::InMemoryTables;

    /// Indexes recording `n` as naming `guid`, as [`put_guids`] writes it.
    async fn named(tables: &dyn TableStore, guid: &str, n: usize) {
        let key = RecordingKey::for_source_blob(
            datetime!(2025-03-14 10:00 UTC),
            "a",
            "recordings",
            &format!("r{n}.webm"),
        );
        let mut e = crate::tables::keyed(tunnel_key(guid), key.id_key(MAX_KEY_BYTES));
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

#[cfg(test)]
#[path = "index_tests.rs"]
mod index_tests;
