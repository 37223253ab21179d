//! The record of changed sessions (table `sessionchanges`, one partition, RK = tunnel id, `Day` =
//! its `sessionwindows` partition): every session whose join the pass derives, whatever its start
//! day, for the review queue to re-derive and clear.
//!
//! Written by [`window::settle`](super::window::settle) *before* it clears the sessions' pending
//! marks, so a crash between the two leaves them pending, and the next pass records them again:
//! no changed session is lost, whichever caller ran the pass (the tail, the workspace query, a
//! backfill). One row per session (a later change overwrites it), 100 to a transaction.

use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{page, upsert_batched};
use crate::tables::{Entity, Filter, MAX_BATCH, TableError, TableStore, WriteMode, get_str};

/// Table of changed sessions.
pub const CHANGES_TABLE: &str = "sessionchanges";
/// Its one partition: a run reads it with one query, a tick writes it 100 rows to a call.
const PARTITION: &str = "changed";

/// One recorded change, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The session's `sessionwindows` partition.
    pub day: String,
    /// Its tunnel id.
    pub tunnel: String,
    etag: String,
}

/// Records `sessions`, `(start day, tunnel id)`, as changed.
///
/// # Errors
/// Table errors.
pub async fn record(
    tables: &dyn TableStore,
    sessions: &[(String, String)],
) -> Result<(), TableError> {
    let rows: Vec<Entity> = sessions
        .iter()
        .map(|(day, tunnel)| {
            let mut e = Entity::new();
            e.insert("PartitionKey".into(), PARTITION.into());
            // A stored tunnel id is its own key (the tail takes no other).
            e.insert(
                "RowKey".into(),
                key(tunnel, Spelling::Verbatim, MAX_KEY_BYTES).into(),
            );
            e.insert("Day".into(), day.clone().into());
            e
        })
        .collect();
    upsert_batched(tables, CHANGES_TABLE, &rows).await
}

/// At most `limit` recorded changes.
///
/// # Errors
/// Table errors (no table: none).
pub async fn pending(tables: &dyn TableStore, limit: u32) -> Result<Vec<Change>, TableError> {
    let rows = page(
        tables,
        CHANGES_TABLE,
        &Filter::partition(PARTITION),
        limit,
        None,
    )
    .await?;
    Ok(rows
        .items
        .into_iter()
        .filter_map(|s| {
            Some(Change {
                day: get_str(&s.entity, "Day")?.to_owned(),
                tunnel: get_str(&s.entity, "RowKey")?.to_owned(),
                etag: s.etag,
            })
        })
        .collect())
}

/// Removes `done` as read: a change recorded again since (another ETag) stays for the next reader.
///
/// # Errors
/// Table errors.
pub async fn clear(tables: &dyn TableStore, done: &[Change]) -> Result<(), TableError> {
    for chunk in done.chunks(MAX_BATCH) {
        let deletes: Vec<(Entity, WriteMode)> = chunk
            .iter()
            .map(|c| {
                let mut e = Entity::new();
                e.insert("PartitionKey".into(), PARTITION.into());
                e.insert("RowKey".into(), c.tunnel.clone().into());
                (e, WriteMode::Delete(c.etag.clone()))
            })
            .collect();
        if tables.batch(CHANGES_TABLE, &deletes).await.is_ok() {
            continue;
        }
        for c in chunk {
            match tables
                .delete(CHANGES_TABLE, PARTITION, &c.tunnel, Some(&c.etag))
                .await
            {
                Ok(()) | Err(TableError::NotFound | TableError::PreconditionFailed) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
