//! Keeping the queue: [`refresh`] re-derives the sessions of some days whose inputs changed, and
//! [`withdraw`] takes a reviewed session out.
//!
//! **Races with a review.** `refresh` writes a queue row *before* it re-reads the day's latest
//! reviews (and withdraws what got reviewed meanwhile); a review writes its latest row *before* it
//! reads the session's queue row key and deletes that row. Whatever the interleaving, one of the
//! two sees the other, so no reviewed session stays queued.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};

use super::overdue;
use super::risk::{self, Reason};
use super::{INDEX_TABLE, OPEN, PAIRS_TABLE, QUEUE_TABLE, Session, partition_of};
use crate::catalogue::session::tunnel_key;
use crate::catalogue::window::WINDOWS_TABLE;
use crate::dates::{format_date, format_utc_millis, timestamp};
use crate::ports::Ports;
use crate::reviews::latest_in;
use crate::reviews::model::{Kind, Subject};
use crate::reviews::settings::ReviewSettings;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, update, update_from, write_creating_table};
use crate::tables::{
    Entity, Filter, MAX_BATCH, Stored, TableError, TableStore, WriteMode, get_str,
};

/// Most starts kept per (user, VM).
const MAX_STARTS: usize = 200;
/// Rows written concurrently (row by row).
const WRITERS: usize = 16;
/// Batches in flight: one (a batch is already 100 rows; more at once only queue up in the service,
/// and the storage emulator timed out under four).
const BATCHES: usize = 1;

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Sessions read.
    pub sessions: usize,
    /// Sessions re-derived (inputs changed).
    pub changed: usize,
    /// Of those, queued now.
    pub queued: usize,
}

fn reviewed_key(tunnel: &str) -> String {
    Subject {
        kind: Kind::Session,
        id: tunnel.to_owned(),
    }
    .latest_rk()
}

async fn sessions_of(tables: &dyn TableStore, day: &str) -> Result<Vec<Session>, TableError> {
    let rows = query_all(tables, WINDOWS_TABLE, &Filter::partition(day), usize::MAX).await?;
    Ok(rows
        .iter()
        .filter_map(|r| Session::from_window(&r.entity))
        .collect())
}

/// Re-derives the queue entries of the sessions that started on `days` (oldest first).
///
/// # Errors
/// Table errors (the next tick resumes: every write is idempotent).
pub async fn refresh(
    ports: &Ports,
    settings: &ReviewSettings,
    days: &[Date],
    now: OffsetDateTime,
) -> Result<Refreshed, TableError> {
    let tables = ports.tables.as_ref();
    let settings_digest = settings.digest();
    // A finding opening or clearing on a host changes its sessions' risk, so it is in the digest.
    let flagged = crate::estate::store::flagged_hosts(tables).await?;
    let on_flagged = |s: &Session| flagged.contains(&s.host.to_ascii_lowercase());
    let digest_of = |s: &Session, reviewed: bool| {
        s.digest(
            reviewed,
            &format!("{settings_digest}|estate={}", on_flagged(s)),
        )
    };
    let mut done = Refreshed::default();
    for day in days {
        let pk = format_date(*day);
        let sessions = sessions_of(tables, &pk).await?;
        // Bursts before midnight count for sessions after it.
        let mut context = match day.previous_day() {
            Some(d) => sessions_of(tables, &format_date(d)).await?,
            None => Vec::new(),
        };
        context.extend(sessions.iter().cloned());
        let bursts: HashSet<String> =
            risk::in_bursts(&context, settings.burst_threshold, settings.burst_window)
                .into_iter()
                .collect();
        let index: HashMap<String, Stored> =
            query_all(tables, INDEX_TABLE, &Filter::partition(&pk), usize::MAX)
                .await?
                .into_iter()
                .filter_map(|s| Some((get_str(&s.entity, "RowKey")?.to_owned(), s)))
                .collect();
        let reviewed = latest_in(tables, &pk).await?;
        let changed: Vec<&Session> = sessions
            .iter()
            .filter(|s| {
                let d = digest_of(s, reviewed.contains_key(&reviewed_key(&s.tunnel)));
                index
                    .get(&s.tunnel)
                    .is_none_or(|i| get_str(&i.entity, "Digest") != Some(d.as_str()))
            })
            .collect();
        let new: Vec<&Session> = changed
            .iter()
            .copied()
            .filter(|s| !index.contains_key(&s.tunnel))
            .collect();
        let firsts = first_sessions(tables, &new).await?;
        let items: Vec<(Item<'_>, Option<Stored>)> = changed
            .iter()
            .map(|s| {
                let is_reviewed = reviewed.contains_key(&reviewed_key(&s.tunnel));
                let first = match index.get(&s.tunnel) {
                    Some(i) => i.entity.get("FirstToVm").and_then(Value::as_bool) == Some(true),
                    None => firsts.contains(&s.tunnel),
                };
                let ctx = risk::Context {
                    burst: bursts.contains(&s.tunnel),
                    first_to_vm: first,
                    estate: on_flagged(s),
                };
                let (score, reasons) = risk::assess(s, ctx, settings, now);
                let item = Item {
                    session: s,
                    score,
                    rk: (!is_reviewed && score > 0).then(|| risk::rank_key(score, s)),
                    reasons,
                    due: s.end.unwrap_or(s.start) + settings.deadline,
                    first,
                    digest: digest_of(s, is_reviewed),
                    notified: index
                        .get(&s.tunnel)
                        .is_some_and(|i| i.entity.get(overdue::MARKER) == Some(&Value::Bool(true))),
                };
                (item, index.get(&s.tunnel).cloned())
            })
            .collect();
        let queued: Vec<String> = items
            .iter()
            .filter(|(i, _)| i.rk.is_some())
            .map(|(i, _)| i.session.tunnel.clone())
            .collect();
        write_items(tables, items).await?;
        // Reviews recorded while this ran: their sessions leave the queue now.
        let after = latest_in(tables, &pk).await?;
        for t in queued
            .iter()
            .filter(|t| after.contains_key(&reviewed_key(t)))
        {
            withdraw(tables, &pk, t).await?;
        }
        done.sessions += sessions.len();
        done.changed += changed.len();
        done.queued += queued.len();
    }
    Ok(done)
}

struct Item<'a> {
    session: &'a Session,
    score: u32,
    reasons: Vec<Reason>,
    rk: Option<String>,
    due: OffsetDateTime,
    first: bool,
    digest: String,
    /// `review.overdue` was raised (kept on the queue row, see [`overdue`]).
    notified: bool,
}

/// Writes the index rows, then takes out the queue rows that moved, then writes the queue rows:
/// index and queue rows batched [`MAX_BATCH`] to a round trip (each table's rows share a
/// partition), so a day's first indexing costs tens of calls, not thousands. A batch that fails
/// (a row changed meanwhile, another instance was first, the table is new) is redone row by row.
async fn write_items(
    tables: &dyn TableStore,
    items: Vec<(Item<'_>, Option<Stored>)>,
) -> Result<(), TableError> {
    // Futures gathered in loops, not closures over the stream: the timer's future must be `Send`.
    let mut batches = Vec::new();
    for chunk in items.chunks(MAX_BATCH) {
        batches.push(index_chunk(tables, chunk));
    }
    let stale: Vec<Vec<QueueKey>> = futures::stream::iter(batches)
        .buffer_unordered(BATCHES)
        .try_collect()
        .await?;
    let mut deletes = Vec::new();
    for (pk, rk) in stale.iter().flatten() {
        deletes.push(delete_queue_row(tables, pk, rk));
    }
    futures::stream::iter(deletes)
        .buffer_unordered(WRITERS)
        .try_collect::<Vec<()>>()
        .await?;
    // A batch is one partition's rows.
    let mut by_partition: BTreeMap<String, Vec<Entity>> = BTreeMap::new();
    for (item, _) in &items {
        if let Some(row) = queue_row(item) {
            by_partition
                .entry(partition_of(&item.session.tunnel))
                .or_default()
                .push(row);
        }
    }
    let mut batches = Vec::new();
    for chunk in by_partition
        .values()
        .flat_map(|rows| rows.chunks(MAX_BATCH))
    {
        batches.push(queue_chunk(tables, chunk));
    }
    futures::stream::iter(batches)
        .buffer_unordered(BATCHES)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// A queue row's (partition, row key).
type QueueKey = (String, String);

/// One batch of index rows (insert, or If-Match the row as read); the queue rows they leave.
async fn index_chunk(
    tables: &dyn TableStore,
    chunk: &[(Item<'_>, Option<Stored>)],
) -> Result<Vec<QueueKey>, TableError> {
    let mut writes: Vec<(Entity, WriteMode)> = Vec::with_capacity(chunk.len());
    let mut stale = Vec::new();
    for (item, cur) in chunk {
        let mode = cur
            .as_ref()
            .map_or(WriteMode::Insert, |c| WriteMode::IfMatch(c.etag.clone()));
        writes.push((index_row(cur.as_ref().map(|c| &c.entity), item), mode));
        // The key as read at the start is stale once the row moves, whichever way it is written.
        stale.extend(queue_key_of(cur.as_ref().map(|c| &c.entity)));
    }
    if let Err(err) = batch_creating(tables, INDEX_TABLE, &writes).await {
        tracing::debug!(error = %err, "reviewindex batch redone row by row");
        let mut rows = Vec::new();
        for (item, cur) in chunk {
            rows.push(index_one(tables, item, cur.clone()));
        }
        let redone: Vec<Option<QueueKey>> = futures::stream::iter(rows)
            .buffer_unordered(WRITERS)
            .try_collect()
            .await?;
        stale.extend(redone.into_iter().flatten());
    }
    let mut new = HashSet::new();
    for (item, _) in chunk {
        new.extend(queue_key(item));
    }
    stale.retain(|key| !new.contains(key));
    stale.sort();
    stale.dedup();
    Ok(stale)
}

/// One batch of queue rows (upserts); row by row when the batch fails.
async fn queue_chunk(tables: &dyn TableStore, rows: &[Entity]) -> Result<(), TableError> {
    let mut writes: Vec<(Entity, WriteMode)> = Vec::with_capacity(rows.len());
    for e in rows {
        writes.push((e.clone(), WriteMode::Upsert));
    }
    if let Err(err) = batch_creating(tables, QUEUE_TABLE, &writes).await {
        tracing::debug!(error = %err, "reviewqueue batch redone row by row");
        let mut one = Vec::new();
        for e in rows {
            one.push(write_creating_table(
                tables,
                QUEUE_TABLE,
                e,
                WriteMode::Upsert,
            ));
        }
        futures::stream::iter(one)
            .buffer_unordered(WRITERS)
            .try_collect::<Vec<String>>()
            .await?;
    }
    Ok(())
}

/// [`TableStore::batch`], creating the table when it is absent (the first day indexed) and trying
/// once more.
async fn batch_creating(
    tables: &dyn TableStore,
    table: &str,
    writes: &[(Entity, WriteMode)],
) -> Result<Vec<String>, TableError> {
    match tables.batch(table, writes).await {
        Err(TableError::NotFound) => {
            tables.ensure_table(table).await?;
            tables.batch(table, writes).await
        }
        other => other,
    }
}

/// The queue row an index row names; an index row written before the queue was split names no
/// partition: its row is in the first one.
fn queue_key_of(e: Option<&Entity>) -> Option<QueueKey> {
    let e = e?;
    let rk = get_str(e, "QueueRk").filter(|v| !v.is_empty())?;
    let pk = get_str(e, "QueuePk")
        .filter(|v| !v.is_empty())
        .unwrap_or(OPEN);
    Some((pk.to_owned(), rk.to_owned()))
}

/// Where `item` is queued, if it is.
fn queue_key(item: &Item<'_>) -> Option<QueueKey> {
    let rk = item.rk.clone()?;
    Some((partition_of(&item.session.tunnel), rk))
}

/// The index row of `item`, from the row as read (its other properties, the overdue marker
/// among them, are kept).
fn index_row(cur: Option<&Entity>, item: &Item<'_>) -> Entity {
    let s = item.session;
    let reasons: Vec<&str> = item.reasons.iter().map(|r| r.as_str()).collect();
    let mut e = cur.cloned().unwrap_or_default();
    e.insert("PartitionKey".into(), s.day.clone().into());
    e.insert("RowKey".into(), tunnel_key(&s.tunnel).into());
    e.insert("Digest".into(), item.digest.clone().into());
    let (pk, rk) = queue_key(item).unwrap_or_default();
    e.insert("QueuePk".into(), pk.into());
    e.insert("QueueRk".into(), rk.into());
    e.insert("Score".into(), item.score.to_string().into());
    e.insert("Reasons".into(), reasons.join(",").into());
    e.insert("FirstToVm".into(), item.first.into());
    e
}

/// The queue row of `item`, when it is queued.
fn queue_row(item: &Item<'_>) -> Option<Entity> {
    let s = item.session;
    let rk = item.rk.as_ref()?;
    let reasons: Vec<&str> = item.reasons.iter().map(|r| r.as_str()).collect();
    let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
    let row = json!({
        "PartitionKey": partition_of(&s.tunnel), "RowKey": rk, "TunnelId": s.tunnel, "SessionDay": s.day,
        "Score": item.score.to_string(), "Reasons": reasons.join(","),
        "Start": t(Some(s.start)), "End": t(s.end), "DueAt": t(Some(item.due)),
        "UserName": s.user, "TargetVm": s.vm, "BastionHost": s.host, "ClientIp": s.ip,
        "Outcome": s.outcome, "Recorded": s.recorded, "RecordingIds": s.recording_ids,
    });
    let Value::Object(mut e) = row else {
        return None;
    };
    e.insert(overdue::MARKER.into(), item.notified.into());
    Some(e)
}

/// Records the derivation in the index row, ETag-conditional from the row in hand (re-read when
/// it changed); returns the queue row the index row named before.
async fn index_one(
    tables: &dyn TableStore,
    item: &Item<'_>,
    current: Option<Stored>,
) -> Result<Option<QueueKey>, TableError> {
    let s = item.session;
    let mut old_rk = None;
    update_from(
        tables,
        INDEX_TABLE,
        &s.day,
        &tunnel_key(&s.tunnel),
        current,
        &mut |cur| {
            let cur = cur.map(|c| &c.entity);
            old_rk = queue_key_of(cur);
            Some(index_row(cur, item))
        },
    )
    .await?;
    Ok(old_rk)
}

async fn delete_queue_row(tables: &dyn TableStore, pk: &str, rk: &str) -> Result<(), TableError> {
    match tables.delete(QUEUE_TABLE, pk, rk, None).await {
        Ok(()) | Err(TableError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes a reviewed session (started on `day`) out of the queue; nothing when it is not queued.
///
/// # Errors
/// Table errors.
pub async fn withdraw(tables: &dyn TableStore, day: &str, tunnel: &str) -> Result<(), TableError> {
    let rk = tunnel_key(tunnel);
    let Some(idx) = crate::tables::ops::get(tables, INDEX_TABLE, day, &rk).await? else {
        return Ok(());
    };
    match queue_key_of(Some(&idx.entity)) {
        Some((pk, rk)) => delete_queue_row(tables, &pk, &rk).await,
        None => Ok(()),
    }
}

/// The `reviewpairs` partition of a session's user and VM: through the one encoder, so a user
/// name of any length keeps the key within the service's limit (base64url grows text by a third:
/// about 765 characters were enough to pass 1 KiB).
pub(crate) fn pair_key(s: &Session) -> String {
    let pair = format!("{}|{}", s.user.to_lowercase(), s.vm.to_lowercase());
    key(&pair, Spelling::Encoded, MAX_KEY_BYTES)
}

/// The tunnels among `new` (sessions never derived before) that are their user's first to the VM
/// in 30 days; records their starts in `reviewpairs` (one read and one write per pair).
async fn first_sessions(
    tables: &dyn TableStore,
    new: &[&Session],
) -> Result<HashSet<String>, TableError> {
    let mut by_pair: BTreeMap<String, Vec<&Session>> = BTreeMap::new();
    for s in new
        .iter()
        .filter(|s| s.outcome == "connected" && !s.user.is_empty())
    {
        by_pair.entry(pair_key(s)).or_default().push(s);
    }
    let mut pairs = Vec::with_capacity(by_pair.len());
    for (pk, group) in by_pair {
        pairs.push(pair_firsts(tables, pk, group));
    }
    let decided: Vec<HashSet<String>> = futures::stream::iter(pairs)
        .buffer_unordered(WRITERS)
        .try_collect()
        .await?;
    Ok(decided.into_iter().flatten().collect())
}

/// One pair's row: which of `group` are firsts, with their starts recorded.
async fn pair_firsts(
    tables: &dyn TableStore,
    pk: String,
    group: Vec<&Session>,
) -> Result<HashSet<String>, TableError> {
    let mut decided = HashSet::new();
    update(tables, PAIRS_TABLE, &pk, "seen", &mut |cur| {
        let mut starts: Vec<OffsetDateTime> = cur
            .and_then(|c| get_str(&c.entity, "Starts"))
            .unwrap_or_default()
            .split(',')
            .filter_map(timestamp)
            .collect();
        let all: Vec<OffsetDateTime> = starts
            .iter()
            .copied()
            .chain(group.iter().map(|s| s.start))
            .collect();
        decided = group
            .iter()
            .filter(|s| risk::first_to_vm(s.start, &all))
            .map(|s| s.tunnel.clone())
            .collect();
        starts.extend(group.iter().map(|s| s.start));
        starts.sort();
        starts.dedup();
        let newest = starts.last().copied()?;
        starts.retain(|t| *t >= newest - risk::FIRST_WITHIN - Duration::days(1));
        let keep = starts.len().saturating_sub(MAX_STARTS);
        let text: Vec<String> = starts[keep..]
            .iter()
            .map(|t| format_utc_millis(*t))
            .collect();
        let mut e = Entity::new();
        e.insert("Starts".into(), text.join(",").into());
        Some(e)
    })
    .await?;
    Ok(decided)
}
