//! `review.overdue`: a queued (risky, unreviewed) session whose review deadline passed raises one
//! notification. Once across instances: the marker is set on the session's entry in the same
//! transaction as its copy on the rank row ([`entry::mark`]), conditional on both as read, and
//! only the run that set it emits; the id is stable (type + tunnel id), so delivery claims drop
//! any repeat as well. The query asks only for unannounced rank rows that fell due, so a run
//! costs that query and two calls per notification, however many announced sessions wait.

use serde_json::json;
use time::OffsetDateTime;

use super::entry::{self, MARKER, QUEUE_TABLE};
use super::read::ranked;
use crate::azure::AzureError;
use crate::catalogue::figures;
use crate::spine::kinds::REVIEW_OVERDUE;
use crate::spine::{Finding, Severity};
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, get_str};

/// Most findings raised per run (the rest next run).
pub const MAX_PER_RUN: usize = 200;

fn finding(row: &Entity, deadline_hours: i64) -> Finding {
    let s = |k: &str| get_str(row, k).unwrap_or_default().to_owned();
    let tunnel = s("TunnelId");
    let reasons = s("Reasons").replace(',', ", ");
    let evidence = json!({
        "tunnelId": tunnel, "bastionHost": s("BastionHost"), "targetVm": s("TargetVm"),
        "userName": s("UserName"), "userEmail": s("UserEmail"), "sessionStart": s("Start"),
        "sessionEnd": s("End"),
        "riskScore": s("Score"), "riskReasons": reasons, "dueAt": s("DueAt"),
    });
    let f = Finding::new(
        &REVIEW_OVERDUE,
        &tunnel,
        s("DueAt"),
        Severity::Warning,
        evidence,
    );
    f.word("hours", deadline_hours.to_string())
}

/// The findings of queued sessions due before `now` that no run has announced yet
/// (riskiest first, each marked in the same step).
///
/// # Errors
/// Table errors (what was marked before an error is announced: the findings won so far are
/// returned and the error logged).
pub async fn overdue(
    tables: &dyn TableStore,
    deadline_hours: i64,
    now: OffsetDateTime,
) -> Result<Vec<Finding>, AzureError> {
    let mut all = ranked(None);
    all.push(Filter::bool(MARKER, false));
    all.push(figures::overdue_filter("DueAt", now));
    let due = query_all(tables, QUEUE_TABLE, &Filter::And(all), MAX_PER_RUN).await?;
    let by = uuid::Uuid::new_v4().simple().to_string();
    let mut out = Vec::new();
    for row in &due {
        match entry::mark(tables, row, &by).await {
            Ok(true) => out.push(finding(&row.entity, deadline_hours)),
            Ok(false) => {}
            Err(err) if !out.is_empty() => {
                tracing::warn!(error = %err, "review.overdue: marking stopped; the rest next run");
                break;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(out)
}
