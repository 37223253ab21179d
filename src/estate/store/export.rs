//! The estate findings' episodes to `BastionFindings_CL` (the row, one when an episode opens and
//! one when it clears, is [`sentinel::episode_row`]): each check records every episode whose state
//! has no row yet, then marks it `Exported`, so a row not recorded is recorded by the next check.

use super::{ESTATE_TABLE, MAX_ROWS};
use crate::azure::AzureError;
use crate::export::Outbox;
use crate::spine::sentinel;
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Filter, TableStore, get_str};

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
        super::mark_exported(tables, &s, &status).await?;
        recorded += 1;
    }
    Ok(recorded)
}
