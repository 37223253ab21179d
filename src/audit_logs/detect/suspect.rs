//! `recording.suspect` for rows the join pass made suspect: a scan of the recent suspect rows not
//! alerted yet, run by a tick whose pass changed a join (cataloguing alerts the rows it writes).

use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::catalogue::repo::{self, CatalogueRepo};
use crate::dates::format_date;
use crate::join::suspect::{is_due, marked, notification};
use crate::notify::Notification;
use crate::tables::filter::Op;
use crate::tables::{Filter, TableStore};

/// Most rows read per run (suspect rows are few; the rest waits for the next tick).
const LIMIT: usize = 1000;

/// Marks the suspect rows created since `window` (+2 days, the join's horizon) that were not
/// alerted and returns their notifications (at least once: a mark whose answer was lost, or a
/// concurrent run's, still notifies under the same id).
///
/// # Errors
/// Table errors of the query (a failed mark ends the run; its row is found again next tick).
pub async fn run(
    tables: &dyn TableStore,
    repo: &CatalogueRepo,
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Notification>, AzureError> {
    let first_day = format_date((now - window - Duration::days(2)).date());
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, first_day),
        Filter::str("MatchConfidence", Op::Eq, "suspect"),
    ]);
    let rows = repo::versioned(tables, &filter, LIMIT).await?;
    let mut out = Vec::new();
    for row in rows.into_iter().filter(|r| is_due(&r.value)) {
        let mut seen_due = None;
        let key = row.value.key.clone();
        let written = repo
            .update(&key, Some(row), |cur| {
                let cur = cur.filter(|c| is_due(c))?;
                seen_due = Some(cur.clone());
                Some(marked(cur))
            })
            .await;
        if let Some(r) = seen_due {
            out.push(notification(&r));
        }
        if let Err(e) = written {
            tracing::error!(error.cause_chain = %crate::telemetry::redact(&e.to_string()), "marking a suspect recording failed; retried next tick");
            break;
        }
    }
    Ok(out)
}
