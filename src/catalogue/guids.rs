//! Table `recordingkeys`: the GUIDs each recording names (PK = the GUID, keyed as the tunnel id it
//! may be; RK = the recording id, digested when too long), so a session seen for the first time
//! finds the recordings that named it before it existed.

use super::recording::{Recording, RecordingKey};
use super::session::tunnel_key;
use crate::azure::AzureError;
use crate::tables::keys::MAX_KEY_BYTES;
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode};

/// Table of the GUIDs recordings name.
pub const RECORDING_KEYS_TABLE: &str = "recordingkeys";

/// Most recordings one GUID is read for.
const MAX_NAMING: usize = 100;

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
