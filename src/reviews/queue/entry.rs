//! A session's place in the queue's one partition: its **entry** row (`s~<tunnel id>`: the key of
//! its rank row while queued, `Reviewed`, the overdue marker) and, while queued, its **rank** row
//! (`r~<rank key>`: what the queue shows). Both change in one entity group transaction
//! conditional on the entry as read ([`update_group`]): the partition never holds a rank row that
//! no entry names, nor two for one session, whatever fails when, and writers of one session (two
//! instances, a review, the overdue run) take turns on its entry.

use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::Value;
use time::OffsetDateTime;

use crate::dates::format_utc_millis;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{Companions, get, update_group};
use crate::tables::{Entity, MAX_BATCH, Stored, TableError, TableStore, WriteMode, get_str};

/// The queue's table.
pub const QUEUE_TABLE: &str = "reviewqueue";
/// The queue's partition.
pub const PARTITION: &str = "queue";
/// The rank rows' key range, `[from, until)`: the queue in order.
pub const RANKS: (&str, &str) = ("r~", "r~~");
/// The entry rows' key prefix.
const ENTRY: &str = "s~";
/// `review.overdue` was raised: on the entry (the guard) and on the rank row (a copy the overdue
/// query filters on).
pub const MARKER: &str = "OverdueNotified";
/// Entries read at once.
const READERS: usize = 16;

/// The rank row key: `r~`, `9999 − score` (4 digits: the weights sum to 140), the start (fixed-width
/// UTC, so text order is time order), the tunnel id through the one key encoder. The service
/// returns rows in key order, so that is riskiest first, then oldest, then by tunnel id: a total,
/// stable order, one key per session.
pub fn rank_key(score: u32, start: OffsetDateTime, tunnel: &str) -> String {
    let inverted = 9999u32.saturating_sub(score);
    let head = format!("{}{inverted:04}~{}~", RANKS.0, format_utc_millis(start));
    let room = MAX_KEY_BYTES - head.len();
    head + &key(tunnel, Spelling::Verbatim, room)
}

/// The entry row key of `tunnel`.
pub fn entry_key(tunnel: &str) -> String {
    let room = MAX_KEY_BYTES - ENTRY.len();
    [ENTRY, &key(tunnel, Spelling::Verbatim, room)].concat()
}

/// A session's entry, as stored (the default: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The key of its rank row; empty while not queued.
    pub rank: String,
    /// Reviewed: never queued again.
    pub reviewed: bool,
    /// `review.overdue` was raised.
    pub notified: bool,
    /// The overdue run that raised it (a run whose answer was lost recognises its own mark).
    pub by: String,
}

impl Entry {
    fn read(row: Option<&Stored>) -> Self {
        let Some(e) = row.map(|r| &r.entity) else {
            return Self::default();
        };
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let b = |k: &str| e.get(k) == Some(&Value::Bool(true));
        Self {
            rank: s("Rank"),
            reviewed: b("Reviewed"),
            notified: b(MARKER),
            by: s("OverdueBy"),
        }
    }

    fn row(&self, tunnel: &str) -> Entity {
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), PARTITION.into());
        e.insert("RowKey".into(), entry_key(tunnel).into());
        e.insert("TunnelId".into(), tunnel.into());
        e.insert("Rank".into(), self.rank.clone().into());
        e.insert("Reviewed".into(), self.reviewed.into());
        e.insert(MARKER.into(), self.notified.into());
        e.insert("OverdueBy".into(), self.by.clone().into());
        e
    }
}

/// An entry's next state and the write of its rank row (`None`: not queued).
type Next = (Entry, Option<(Entity, WriteMode)>);

/// The rank rows' writes from `cur` to `rank`: the old row removed when it moves or goes.
fn moves(cur: &Entry, rank: Option<(Entity, WriteMode)>) -> Companions {
    let mut out = Companions::new();
    let new_key = rank.as_ref().and_then(|(e, _)| get_str(e, "RowKey"));
    if !cur.rank.is_empty() && new_key != Some(cur.rank.as_str()) {
        let mut gone = Entity::new();
        gone.insert("PartitionKey".into(), PARTITION.into());
        gone.insert("RowKey".into(), cur.rank.clone().into());
        out.push((gone, WriteMode::Delete("*".into())));
    }
    out.extend(rank);
    out
}

/// Changes the entry of `tunnel` (read as `current`) with `f`, rank rows and entry in one
/// transaction; `f` is asked again on the entry as stored then when another writer came first.
/// Returns the entry now stored.
async fn change(
    tables: &dyn TableStore,
    tunnel: &str,
    current: Option<Stored>,
    mut f: impl FnMut(&Entry) -> Option<Next> + Send,
) -> Result<Entry, TableError> {
    let rk = entry_key(tunnel);
    let stored = update_group(tables, QUEUE_TABLE, PARTITION, &rk, current, &mut |cur| {
        let was = Entry::read(cur);
        let (next, rank) = f(&was)?;
        Some((next.row(tunnel), moves(&was, rank)))
    })
    .await?;
    Ok(Entry::read(stored.as_ref()))
}

async fn read(tables: &dyn TableStore, tunnel: &str) -> Result<Option<Stored>, TableError> {
    get(tables, QUEUE_TABLE, PARTITION, &entry_key(tunnel)).await
}

/// What a derivation found for a session: its rank row (`None`: nothing to review).
#[derive(Debug, Clone)]
pub struct Derived {
    /// Tunnel id.
    pub tunnel: String,
    /// The rank row, keys included.
    pub rank: Option<Entity>,
}

/// `d` over `cur`: a reviewed session stays out, the marker is kept; `None` when the session is
/// neither queued nor to be.
fn derived(cur: &Entry, d: &Derived) -> Option<Next> {
    let rank = d.rank.clone().filter(|_| !cur.reviewed).map(|mut row| {
        row.insert(MARKER.into(), cur.notified.into());
        row
    });
    if rank.is_none() && cur.rank.is_empty() {
        return None;
    }
    let key = rank.as_ref().and_then(|r| get_str(r, "RowKey"));
    let next = Entry {
        rank: key.unwrap_or_default().to_owned(),
        ..cur.clone()
    };
    Some((next, rank.map(|r| (r, WriteMode::Upsert))))
}

/// Puts each derivation: the entries read 16 at a time, the sessions that change packed whole into
/// transactions of at most 100 rows; a refused transaction's sessions are redone one by one from
/// the entry (another writer came first, or the table is new). Returns how many are queued.
///
/// # Errors
/// Table errors.
pub async fn put(tables: &dyn TableStore, all: &[Derived]) -> Result<usize, TableError> {
    let mut reads = Vec::with_capacity(all.len());
    for d in all {
        reads.push(read(tables, &d.tunnel));
    }
    let current: Vec<Option<Stored>> = futures::stream::iter(reads)
        .buffered(READERS)
        .try_collect()
        .await?;
    let mut queued = 0;
    let mut batches: Vec<(Companions, Vec<usize>)> = vec![(Companions::new(), Vec::new())];
    for (i, (d, cur)) in all.iter().zip(&current).enumerate() {
        let was = Entry::read(cur.as_ref());
        queued += usize::from(d.rank.is_some() && !was.reviewed);
        let Some((next, rank)) = derived(&was, d) else {
            continue;
        };
        let mut writes = moves(&was, rank);
        let mode = cur
            .as_ref()
            .map_or(WriteMode::Insert, |c| WriteMode::IfMatch(c.etag.clone()));
        writes.push((next.row(&d.tunnel), mode));
        if batches
            .last()
            .is_some_and(|b| b.0.len() + writes.len() > MAX_BATCH)
        {
            batches.push((Companions::new(), Vec::new()));
        }
        if let Some(last) = batches.last_mut() {
            last.0.extend(writes);
            last.1.push(i);
        }
    }
    for (writes, sessions) in batches.into_iter().filter(|b| !b.1.is_empty()) {
        if let Err(err) = tables.batch(QUEUE_TABLE, &writes).await {
            tracing::debug!(error = %err, "review queue transaction redone session by session");
            for i in sessions {
                let d = &all[i];
                change(tables, &d.tunnel, current[i].clone(), |cur| derived(cur, d)).await?;
            }
        }
    }
    Ok(queued)
}

/// Takes a reviewed session out of the queue for good (its entry is kept, reviewed).
///
/// # Errors
/// Table errors.
pub async fn withdraw(tables: &dyn TableStore, tunnel: &str) -> Result<(), TableError> {
    let current = read(tables, tunnel).await?;
    change(tables, tunnel, current, |cur| {
        let next = Entry {
            rank: String::new(),
            reviewed: true,
            ..cur.clone()
        };
        (next != *cur).then_some((next, None))
    })
    .await
    .map(drop)
}

/// Sets the overdue marker of the session of rank row `due` (as a query read it) in its entry and,
/// as a copy, in that row; `by` names the run. True when this run set it, its answer lost or not;
/// false when another run had, or the session was derived again since (the next run decides).
///
/// # Errors
/// Table errors.
pub async fn mark(tables: &dyn TableStore, due: &Stored, by: &str) -> Result<bool, TableError> {
    let (Some(tunnel), Some(rk)) = (
        get_str(&due.entity, "TunnelId"),
        get_str(&due.entity, "RowKey"),
    ) else {
        return Ok(false);
    };
    let current = read(tables, tunnel).await?;
    let mut first = true;
    let result = change(tables, tunnel, current, |cur| {
        // Once: after a lost race the row as queried is stale.
        if cur.notified || !std::mem::take(&mut first) || cur.rank != rk {
            return None;
        }
        let mut copy = due.entity.clone();
        copy.insert(MARKER.into(), true.into());
        let next = Entry {
            notified: true,
            by: by.to_owned(),
            ..cur.clone()
        };
        Some((next, Some((copy, WriteMode::IfMatch(due.etag.clone())))))
    })
    .await;
    match result {
        Ok(entry) => Ok(entry.notified && entry.by == by),
        // The answer may be what was lost: the entry tells.
        Err(e) => match read(tables, tunnel).await {
            Ok(row) if Entry::read(row.as_ref()).by == by => Ok(true),
            _ => Err(e),
        },
    }
}
