//! Heartbeats in table `heartbeats`, merged conditionally: no instance replaces a newer ending.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::beats::{Beat, HEARTBEAT_PK, HEARTBEATS_TABLE, Heartbeats};
use crate::azure::AzureError;
use crate::tables::ops::{query_all, update};
use crate::tables::{Filter, TableStore};

/// Writes the beats recorded since the last flush (kept for the next on a failure); rows written.
///
/// # Errors
/// The first table error.
pub async fn flush(hb: &Heartbeats, tables: &dyn TableStore) -> Result<usize, AzureError> {
    let mut dirty = hb.take_dirty();
    let mut written = 0;
    while let Some((function, mine)) = dirty.pop_first() {
        let mut changed = false;
        let result = update(
            tables,
            HEARTBEATS_TABLE,
            HEARTBEAT_PK,
            &function,
            &mut |cur| {
                let stored = cur.and_then(|s| Beat::from_entity(&s.entity));
                let merged = stored.as_ref().map_or(mine.clone(), |s| s.merge(&mine));
                changed = stored.as_ref() != Some(&merged);
                changed.then(|| merged.to_entity())
            },
        )
        .await;
        if let Err(e) = result {
            dirty.insert(function, mine);
            hb.restore(dirty);
            return Err(e);
        }
        written += usize::from(changed);
    }
    Ok(written)
}

/// The stored heartbeat of every function (absent table = none yet).
///
/// # Errors
/// Table errors.
pub async fn stored(tables: &dyn TableStore) -> Result<BTreeMap<String, Beat>, AzureError> {
    let filter = Filter::partition(HEARTBEAT_PK);
    let rows = query_all(tables, HEARTBEATS_TABLE, &filter, 1000).await?;
    Ok(rows
        .iter()
        .filter_map(|s| {
            let f = crate::tables::get_str(&s.entity, "RowKey")?;
            Some((f.to_owned(), Beat::from_entity(&s.entity)?))
        })
        .collect())
}

/// Flushes every interval until the process ends (spawned by the server at start-up).
pub async fn run(heartbeats: Arc<Heartbeats>, tables: Arc<dyn TableStore>) {
    let period = std::time::Duration::from_millis(
        u64::try_from(heartbeats.interval().whole_milliseconds()).unwrap_or(60_000),
    );
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = flush(&heartbeats, &*tables).await {
            tracing::warn!(error = %crate::telemetry::redact(&e.to_string()), "heartbeat flush failed; kept for the next one");
        }
    }
}
