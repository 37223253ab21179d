//! Table `armpauses`, written here only: the pauses of Resource Manager's throttled scopes, seen
//! by every instance of the app ([`Pauses`], the [`SharedPauses`] the Resource Manager client is
//! given at start-up). One row per scope key (`reads/{subscription}/{provider}`, encoded), its
//! `Until`; a write goes through the one conditional update and keeps the later `until`
//! ([`later`]), so two instances throttled at once leave the longer pause. Reads are one query of
//! the table per [`CACHE_FOR`] per process at most (every unit of the process shares it); a
//! pause is over at its `until` (an old row is ignored, and replaced by the next 429's).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::azure::pace::{SharedPauses, later, left};
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, update};
use crate::tables::{Entity, Filter, TableStore, get_str};

/// The table.
pub const PAUSE_TABLE: &str = "armpauses";
/// Its one partition.
const PARTITION: &str = "pause";
/// How long a process reuses its read of the table: a pause another instance records is seen
/// this late at most (meanwhile, a call it makes gets its own 429 and waits as before).
pub const CACHE_FOR: Duration = Duration::from_secs(5);
/// Most rows read (one per subscription, provider and lane ever throttled).
const MAX_ROWS: usize = 5_000;

/// The shared pauses, over the app's tables.
pub struct Pauses {
    tables: Arc<dyn TableStore>,
    cache: Mutex<Cache>,
}

crate::telemetry::debug_fields!(Pauses { cache });

/// The last read of the table (with this process's own records since).
#[derive(Debug, Default)]
struct Cache {
    read: Option<Instant>,
    until: HashMap<String, SystemTime>,
}

impl Cache {
    fn keep(&mut self, key: &str, until: SystemTime) {
        let kept = later(self.until.get(key).copied(), until);
        self.until.insert(key.to_owned(), kept);
    }
}

fn until_of(e: &Entity) -> Option<SystemTime> {
    get_str(e, "Until")
        .and_then(timestamp)
        .map(SystemTime::from)
}

impl Pauses {
    /// The pauses in `tables`.
    pub fn new(tables: Arc<dyn TableStore>) -> Self {
        Self {
            tables,
            cache: Mutex::default(),
        }
    }
}

#[async_trait]
impl SharedPauses for Pauses {
    async fn until(&self, key: &str) -> Option<SystemTime> {
        let mut cache = self.cache.lock().await;
        if cache.read.is_none_or(|r| r.elapsed() >= CACHE_FOR) {
            let filter = Filter::partition(PARTITION);
            match query_all(self.tables.as_ref(), PAUSE_TABLE, &filter, MAX_ROWS).await {
                Ok(rows) => {
                    for r in &rows {
                        if let (Some(k), Some(u)) = (get_str(&r.entity, "Key"), until_of(&r.entity))
                        {
                            cache.keep(k, u);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "shared Resource Manager pauses not read"),
            }
            cache.read = Some(Instant::now());
        }
        let now = SystemTime::now();
        cache.until.retain(|_, u| left(*u, now).is_some());
        cache.until.get(key).copied()
    }

    async fn record(&self, key_text: &str, until: SystemTime) {
        self.cache.lock().await.keep(key_text, until);
        let rk = key(key_text, Spelling::Encoded, MAX_KEY_BYTES);
        let written = update(
            self.tables.as_ref(),
            PAUSE_TABLE,
            PARTITION,
            &rk,
            &mut |cur| {
                let recorded = cur.and_then(|c| until_of(&c.entity));
                let kept = later(recorded, until);
                if recorded == Some(kept) {
                    return None;
                }
                let until = format_utc_millis(OffsetDateTime::from(kept));
                Some(crate::tables::entity(
                    json!({"Key": key_text, "Until": until}),
                ))
            },
        )
        .await;
        match written {
            Ok(row) => {
                if let Some(u) = row.as_ref().and_then(|r| until_of(&r.entity)) {
                    self.cache.lock().await.keep(key_text, u);
                }
            }
            Err(e) => tracing::warn!(error = %e, "Resource Manager pause not shared"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::tables::memory::InMemoryTables;

    const KEY: &str = "reads/s1/microsoft.network";

    #[tokio::test]
    async fn the_later_pause_stands_and_reads_are_cached_per_process() {
        let t = Arc::new(InMemoryTables::new());
        let (one, two) = (Pauses::new(t.clone()), Pauses::new(t.clone()));
        let now = SystemTime::now();
        assert_eq!(two.until(KEY).await, None, "nothing recorded");
        let queried = t.queries(PAUSE_TABLE);
        let (long, short) = (now + Duration::from_secs(60), now + Duration::from_secs(5));
        one.record(KEY, long).await;
        one.record(KEY, short).await;
        let stored: Vec<_> = t
            .dump(PAUSE_TABLE)
            .iter()
            .filter_map(|r| until_of(&r.entity))
            .collect();
        assert_eq!(stored.len(), 1);
        assert!(
            stored[0] > now + Duration::from_secs(59),
            "the later until kept"
        );
        // The other instance read the table less than CACHE_FOR ago: it reuses that read.
        assert_eq!(two.until(KEY).await, None);
        assert_eq!(t.queries(PAUSE_TABLE), queried, "no second query");
        // A third instance reads it afresh; another scope is not paused.
        let three = Pauses::new(t.clone());
        assert!(
            three
                .until(KEY)
                .await
                .is_some_and(|u| u > now + Duration::from_secs(59))
        );
        assert_eq!(three.until("reads/s2/microsoft.network").await, None);
        assert_eq!(
            t.queries(PAUSE_TABLE),
            queried + 1,
            "one query for both scopes"
        );
    }

    #[tokio::test]
    async fn an_expired_pause_is_ignored() {
        let t = Arc::new(InMemoryTables::new());
        let one = Pauses::new(t.clone());
        one.record(KEY, SystemTime::now() - Duration::from_secs(1))
            .await;
        assert_eq!(Pauses::new(t).until(KEY).await, None);
        assert_eq!(one.until(KEY).await, None);
    }
}
