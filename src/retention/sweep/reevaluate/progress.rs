//! The re-evaluation's progress: one row of table `sweepstate`, written ETag-conditionally so two
//! overlapping runs cannot both advance it.

use serde_json::{Value, json};

use super::plan::ClassDays;
use crate::azure::AzureError;
use crate::tables::ops::write_creating_table;
use crate::tables::{Entity, TableStore, WriteMode, get_str};

/// Table of sweep progress rows.
pub const PROGRESS_TABLE: &str = "sweepstate";
const PK: &str = "policy";
const RK: &str = "reevaluation";

/// One queued visit: the container (`r` recordings, `a` audit logs) and the class.
pub type Visit = (String, String);

/// The progress row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Class days the blobs' tags reflect.
    pub applied: ClassDays,
    /// Class days being applied (equal to `applied` when idle).
    pub target: ClassDays,
    /// Visits left, head first.
    pub queue: Vec<Visit>,
    /// Find Blobs by Tags marker of the head's current page.
    pub marker: Option<String>,
    /// Last blob name done on that page.
    pub after: Option<String>,
    /// ETag of the row as read; `None` = no row yet.
    pub etag: Option<String>,
}

fn json_of<T: serde::de::DeserializeOwned + Default>(e: &Entity, k: &str) -> T {
    get_str(e, k)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// Reads the row; `None` when there is none yet (or the table does not exist).
pub async fn read(tables: &dyn TableStore) -> Result<Option<Progress>, AzureError> {
    let stored = crate::tables::ops::get(tables, PROGRESS_TABLE, PK, RK).await?;
    Ok(stored.map(|s| Progress {
        applied: json_of(&s.entity, "Applied"),
        target: json_of(&s.entity, "Target"),
        queue: json_of(&s.entity, "Queue"),
        marker: get_str(&s.entity, "Marker").map(str::to_owned),
        after: get_str(&s.entity, "After").map(str::to_owned),
        etag: Some(s.etag),
    }))
}

/// Writes the row on the ETag read and keeps the new one; `PreconditionFailed`/`Conflict`: stop.
pub async fn write(tables: &dyn TableStore, s: &mut Progress) -> Result<(), AzureError> {
    let text = |v: Value| v.to_string();
    let mut e = crate::tables::entity(json!({"PartitionKey": PK, "RowKey": RK,
        "Applied": text(json!(s.applied)), "Target": text(json!(s.target)), "Queue": text(json!(s.queue))}));
    for (k, v) in [("Marker", &s.marker), ("After", &s.after)] {
        if let Some(v) = v {
            e.insert(k.to_owned(), Value::String(v.clone()));
        }
    }
    let mode = s.etag.clone().map_or(WriteMode::Insert, WriteMode::IfMatch);
    s.etag = Some(write_creating_table(tables, PROGRESS_TABLE, &e, mode).await?);
    Ok(())
}
