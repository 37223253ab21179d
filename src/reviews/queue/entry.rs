//! A session's entry (`s~<tunnel id>`) and rank row (`r~<rank key>`) in the queue partition,
//! changed in one transaction conditional on the entry ([`update_with`]): never a rank row the
//! entry does not name, never two for a session.

use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{Companions, get, update_with, write_creating_table};
use crate::tables::{Entity, IN_FLIGHT, Stored, TableStore, WriteMode, entity, get_str};

/// The queue's table.
pub const QUEUE_TABLE: &str = "reviewqueue";
/// The queue's partition.
pub const PARTITION: &str = "queue";
/// The rank rows' keys, `[from, until)`.
pub const RANKS: (&str, &str) = ("r~", "r~~");
/// `review.overdue` was raised: on the entry, and copied on the rank row for the overdue query.
pub const MARKER: &str = "OverdueNotified";

/// `r~`, `9999 − score`, the start (fixed width), the tunnel id: key order is the queue's order.
pub fn rank_key(score: u32, start: OffsetDateTime, tunnel: &str) -> String {
    let head = format!(
        "r~{:04}~{}~",
        9999u32.saturating_sub(score),
        format_utc_millis(start)
    );
    let room = MAX_KEY_BYTES - head.len();
    head + &key(tunnel, Spelling::Verbatim, room)
}

/// The entry's key.
pub fn entry_key(tunnel: &str) -> String {
    ["s~", &key(tunnel, Spelling::Verbatim, MAX_KEY_BYTES - 2)].concat()
}

/// A session's entry (the default: none yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Entry {
    rank: String,
    reviewed: bool,
    /// The `IdentityCheck` of the review that took it out (`ReviewIdentity`).
    identity: String,
    /// The overdue run that raised `review.overdue` (one whose answer was lost knows its mark).
    notified_by: Option<String>,
}

impl Entry {
    fn read(row: Option<&Stored>) -> Self {
        let e = row.map(|r| &r.entity);
        let s = |k: &str| e.and_then(|e| get_str(e, k)).unwrap_or_default().to_owned();
        let b = |k: &str| e.and_then(|e| e.get(k)) == Some(&Value::Bool(true));
        let (rank, reviewed) = (s("Rank"), b("Reviewed"));
        Self {
            rank,
            reviewed,
            identity: s("ReviewIdentity"),
            notified_by: b(MARKER).then(|| s("OverdueBy")),
        }
    }
}

/// Upserts `row`, a JSON object (a retry writes the same row).
pub(super) async fn upsert(tables: &dyn TableStore, row: &Value) -> Result<(), AzureError> {
    let row = row.as_object().cloned().unwrap_or_default();
    write_creating_table(tables, QUEUE_TABLE, &row, WriteMode::Upsert)
        .await
        .map(drop)
}

/// Changes `tunnel`'s entry with `f` (asked again when another writer came first), removing a rank
/// row it leaves in the same transaction. Returns the entry now.
async fn change(
    tables: &dyn TableStore,
    tunnel: &str,
    mut f: impl FnMut(&Entry) -> Option<(Entry, Option<(Entity, WriteMode)>)> + Send,
) -> Result<Entry, AzureError> {
    let rk = entry_key(tunnel);
    let current = get(tables, QUEUE_TABLE, PARTITION, &rk).await?;
    let stored = update_with(tables, QUEUE_TABLE, PARTITION, &rk, current, |cur| {
        let was = Entry::read(cur.as_ref());
        let next = f(&was).map(|(next, rank)| {
            let mut rows = Companions::new();
            let to = rank.as_ref().and_then(|(e, _)| get_str(e, "RowKey"));
            if !was.rank.is_empty() && to != Some(was.rank.as_str()) {
                let gone = json!({"PartitionKey": PARTITION, "RowKey": was.rank});
                rows.push((entity(gone), WriteMode::Delete("*".into())));
            }
            rows.extend(rank);
            let by = next.notified_by.clone();
            let row = json!({"TunnelId": tunnel, "Rank": next.rank, "Reviewed": next.reviewed,
                "ReviewIdentity": next.identity, MARKER: by.is_some(), "OverdueBy": by.unwrap_or_default()});
            (entity(row), rows)
        });
        std::future::ready(Ok(next))
    });
    Ok(Entry::read(stored.await?.as_ref()))
}

/// Puts each session's derived rank row (`None`: nothing to review); a reviewed session stays out.
/// Returns how many are queued.
pub async fn put(
    tables: &dyn TableStore,
    all: Vec<(String, Option<Entity>)>,
) -> Result<usize, AzureError> {
    let mut puts = Vec::with_capacity(all.len());
    for (tunnel, rank) in all {
        puts.push(async move {
            let now = change(tables, &tunnel, |cur| {
                let mut row = rank.clone().filter(|_| !cur.reviewed);
                if let Some(r) = &mut row {
                    r.insert(MARKER.into(), cur.notified_by.is_some().into());
                }
                let rk = row
                    .as_ref()
                    .and_then(|r| get_str(r, "RowKey"))
                    .unwrap_or_default();
                let next = Entry {
                    rank: rk.to_owned(),
                    ..cur.clone()
                };
                (row.is_some() || !cur.rank.is_empty())
                    .then(|| (next, row.map(|r| (r, WriteMode::Upsert))))
            });
            Ok::<_, AzureError>(usize::from(!now.await?.rank.is_empty()))
        });
    }
    let stream = futures::stream::iter(puts).buffer_unordered(IN_FLIGHT);
    stream.try_fold(0, |n, q| async move { Ok(n + q) }).await
}

/// The entry's review state and identity check (the review's `IdentityCheck`, kept as
/// `ReviewIdentity`): reviewed takes the session out of the queue for good (its rank goes);
/// not reviewed puts it back among those to review (the review that took it out was its own
/// user's, `self-review`), and its next derivation queues it again.
pub async fn set_reviewed(
    tables: &dyn TableStore,
    tunnel: &str,
    identity: &str,
    reviewed: bool,
) -> Result<(), AzureError> {
    let done = change(tables, tunnel, |cur| {
        let next = Entry {
            rank: if reviewed {
                String::new()
            } else {
                cur.rank.clone()
            },
            reviewed,
            identity: identity.to_owned(),
            ..cur.clone()
        };
        (next != *cur).then_some((next, None))
    });
    done.await.map(drop)
}

/// Marks the session of rank row `due` announced by run `by`: true when `by` set the mark (its
/// answer lost or not), false when another run had or the session was derived again since.
pub async fn mark(tables: &dyn TableStore, due: &Stored, by: &str) -> Result<bool, AzureError> {
    let s = |k: &str| get_str(&due.entity, k).unwrap_or_default();
    let (tunnel, rk, mut first) = (s("TunnelId"), s("RowKey"), true);
    let marked = change(tables, tunnel, |cur| {
        if !std::mem::take(&mut first) || cur.notified_by.is_some() || cur.rank != rk {
            return None;
        }
        let mut row = due.entity.clone();
        row.insert(MARKER.into(), true.into());
        let next = Entry {
            notified_by: Some(by.to_owned()),
            ..cur.clone()
        };
        Some((next, Some((row, WriteMode::IfMatch(due.etag.clone())))))
    });
    let mine = |e: Entry| e.notified_by.as_deref() == Some(by);
    match marked.await {
        Ok(e) => Ok(mine(e)),
        // The answer may be what was lost: the entry tells.
        Err(err) => match get(tables, QUEUE_TABLE, PARTITION, &entry_key(tunnel)).await {
            Ok(row) if mine(Entry::read(row.as_ref())) => Ok(true),
            _ => Err(err),
        },
    }
}
