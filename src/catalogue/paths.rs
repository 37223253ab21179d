//! Table `recordingpaths`: the catalogue rows of a blob, by name (PK = its row key, RK = creation
//! day), for `BlobDeleted` events, which do not name the day. Written before the row itself.

use super::recording::RecordingKey;
use crate::azure::AzureError;
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

/// Table of the path index.
pub const RECORDING_PATHS_TABLE: &str = "recordingpaths";

/// Most days one name is read for.
const MAX_DAYS: usize = 100;

/// Records that `key`'s blob has a row under its day (idempotent).
pub async fn index(tables: &dyn TableStore, key: &RecordingKey) -> Result<(), AzureError> {
    let mut e = Entity::new();
    e.insert("PartitionKey".into(), key.rk.clone().into());
    e.insert("RowKey".into(), key.pk.clone().into());
    e.insert("RecordingId".into(), key.id().into());
    write_creating_table(tables, RECORDING_PATHS_TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// The rows of the blob whose row key is `rk`, newest day first (an absent table has none).
pub async fn rows_of(tables: &dyn TableStore, rk: &str) -> Result<Vec<RecordingKey>, AzureError> {
    let rows = query_all(
        tables,
        RECORDING_PATHS_TABLE,
        &Filter::partition(rk),
        MAX_DAYS,
    )
    .await?;
    let mut keys: Vec<RecordingKey> = rows
        .iter()
        .filter_map(|s| {
            let day = get_str(&s.entity, "RowKey")?;
            Some(RecordingKey {
                pk: day.to_owned(),
                rk: rk.to_owned(),
            })
        })
        .collect();
    keys.sort_by(|a, b| b.pk.cmp(&a.pk));
    Ok(keys)
}
