//! The estate findings as rows of `BastionFindings_CL`, one when an episode opens and one when it
//! clears: each check records every episode whose state has no row yet, then marks it `Exported`,
//! so a row not recorded is recorded by the next check.

use super::{CHECKED, ESTATE_TABLE, MAX_ROWS};
use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::export::Outbox;
use crate::export::rows::FindingRow;
use crate::spine::stable_id;
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, get_str};

/// The marker of the state last recorded.
pub const EXPORTED: &str = "Exported";

/// The row of an estate entity in its current state; `None` for the marker or a stateless row.
pub fn finding_row(e: &Entity) -> Option<FindingRow> {
    let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
    let t = |k: &str| get_str(e, k).filter(|v| !v.is_empty()).and_then(timestamp);
    let code = get_str(e, "RowKey").filter(|rk| *rk != CHECKED)?;
    let status = get_str(e, "Status").filter(|v| *v == "open" || *v == "resolved")?;
    let opened = t("OpenedAt")?;
    let host = s("Host");
    // One episode, one id: host + finding + when it opened (as its notifications are named).
    let fact = format!("{}|{code}|{}", host.to_ascii_lowercase(), s("OpenedAt"));
    let resolved = t("ResolvedAt");
    Some(FindingRow {
        time_generated: if status == "resolved" {
            resolved.unwrap_or(opened)
        } else {
            opened
        },
        finding_id: stable_id("estate.episode", &fact),
        bastion_resource_id: host,
        bastion_host: s("HostName"),
        finding: code.to_owned(),
        finding_severity: s("Severity"),
        status: status.to_owned(),
        opened_at: Some(opened),
        resolved_at: resolved,
        evidence: s("Evidence"),
    })
}

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
        let Some(row) = finding_row(&s.entity) else {
            continue;
        };
        outbox.record(&row).await?;
        super::mark_exported(tables, &s, &status).await?;
        recorded += 1;
    }
    Ok(recorded)
}
