//! The Sentinel export in `/api/health`: per table the outbox backlog, its oldest row's age, and
//! the drain's progress and last error (either can make the report degraded).

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::export::{Table, outbox};
use crate::tables::TableStore;

/// Rows counted per table.
pub const BACKLOG_CAP: u32 = 1000;
/// A row waiting this long means the export is not keeping up (the drain runs every minute).
pub const STUCK_AFTER: Duration = Duration::minutes(30);

/// The `sentinel` document and the reasons it gives for a degraded status.
///
/// # Errors
/// Table errors.
pub async fn check(
    tables: &dyn TableStore,
    now: OffsetDateTime,
) -> Result<(Value, Vec<String>), AzureError> {
    let mut streams = Map::new();
    let mut reasons = Vec::new();
    let buckets = outbox::buckets::buckets(tables, now).await?;
    for t in Table::ALL {
        let b = outbox::backlog(tables, t, buckets.of(t), BACKLOG_CAP).await?;
        let st = outbox::hold(tables, t).await?.state();
        let age = b
            .oldest
            .as_deref()
            .and_then(timestamp)
            .map(|o| (now - o).max(Duration::ZERO));
        if let Some(a) = age.filter(|a| *a > STUCK_AFTER) {
            let more = if b.more { "+" } else { "" };
            reasons.push(format!(
                "Sentinel export: {} has {}{more} row(s) waiting, the oldest for {} min",
                t.key(),
                b.rows,
                a.whole_minutes()
            ));
        }
        if !st.last_error.is_empty() {
            reasons.push(format!(
                "Sentinel export: {} stopped: {}",
                t.key(),
                st.last_error
            ));
        }
        streams.insert(
            t.key().to_owned(),
            json!({
                "table": t.as_str(), "stream": t.stream(),
                "rows": b.rows, "more": b.more, "oldest": b.oldest,
                "ageMinutes": age.map(Duration::whole_minutes),
                "sent": st.sent, "lastSentAt": st.last_sent_at,
                "lastError": Some(st.last_error).filter(|e| !e.is_empty()),
                "lastErrorAt": st.last_error_at,
            }),
        );
    }
    Ok((json!({"enabled": true, "streams": streams}), reasons))
}
