//! The estate findings' episodes to `BastionFindings_CL` (the row, one when an episode opens and
//! one when it clears, is [`sentinel::episode_row`]): each check records every episode whose state
//! has no row yet, then marks it `Exported`, so a row not recorded is recorded by the next check.

use serde_json::Value;

use super::table::{ESTATE_TABLE, MAX_ROWS};
use crate::azure::AzureError;
use crate::estate::rows::mark;
use crate::export::Outbox;
use crate::spine::sentinel;
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, Stored, TableStore, get_str};

/// The marker of the state last recorded.
pub const EXPORTED: &str = "Exported";

/// Records the episodes whose state has no row yet; returns how many.
///
/// # Errors
/// Table errors (what was recorded stays; the next check records the rest).
pub async fn record_changes(tables: &dyn TableStore, outbox: &Outbox) -> Result<usize, AzureError> {
    if !outbox.enabled() {
        return Ok(0);
    }
    let all = Filter::str("PartitionKey", Op::Ge, "");
    let mut recorded = 0;
    for s in query_all(tables, ESTATE_TABLE, &all, MAX_ROWS).await? {
        let status = get_str(&s.entity, "Status").unwrap_or_default().to_owned();
        if get_str(&s.entity, EXPORTED) == Some(status.as_str()) {
            continue;
        }
        let Some(row) = sentinel::episode_row(&s.entity) else {
            continue;
        };
        outbox.record(&row).await?;
        mark_exported(tables, &s, &status).await?;
        recorded += 1;
    }
    Ok(recorded)
}

/// Marks finding row `s` exported in its `status`, unless the row changed since it was read.
async fn mark_exported(
    tables: &dyn TableStore,
    s: &Stored,
    status: &str,
) -> Result<(), AzureError> {
    let st = Some(status);
    let unmarked = |e: &Entity| get_str(e, "Status") == st && get_str(e, EXPORTED) != st;
    let marked = (EXPORTED, Value::from(status));
    mark(tables, ESTATE_TABLE, s, &unmarked, marked)
        .await
        .map(drop)
}
