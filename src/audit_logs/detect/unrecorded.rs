//! `session.unrecorded`: a successful, ended session that no recording's match names once the
//! grace period after its end arrived has passed and its join is not pending.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::audit_logs::sessions::outcome;
use crate::catalogue::days::{self, DayRow, mark_unrecorded};
use crate::dates::{format_date, format_utc};
use crate::join::Join;
use crate::notify::{Notification, Severity};
use crate::ports::Failure;
use crate::tables::Filter;
use crate::tables::filter::Op;

/// Most notifications of this kind per run.
const LIMIT: usize = 100;

/// True when `row` is a compliance gap at `now`. A pending session's recorded state is still being
/// derived (a recording may have just joined or left it): it is decided once the join has run.
pub fn is_due(row: &DayRow, now: OffsetDateTime, grace: Duration) -> bool {
    row.outcome == outcome::CONNECTED
        && row.end.is_some()
        && row.pending.is_none()
        && !row.recorded
        && !row.unrecorded_notified
        && row.end_arrived_at.is_some_and(|a| a + grace <= now)
}

/// Marks the sessions due in the last `window` (+1 day) and returns their notifications (at least
/// once: a mark whose answer was lost still notifies). Before a session is called unrecorded the
/// catalogue is looked at ([`Join::named_in_catalogue`]): a recording naming it that a pass has not
/// applied yet leaves it pending instead.
///
/// # Errors
/// Storage failures.
pub async fn run(
    join: &Join,
    grace: Duration,
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Notification>, Failure> {
    let (tables, outbox) = (join.ports.tables.as_ref(), &join.ports.outbox);
    let sources = &join.ports.sources;
    let first_day = format_date((now - window - Duration::days(1)).date());
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, first_day),
        Filter::str("Outcome", Op::Eq, outcome::CONNECTED),
        Filter::bool("Recorded", false),
        Filter::bool("UnrecordedNotified", false),
    ]);
    let rows = days::query(tables, &filter, 5000).await?;
    let mut out = Vec::new();
    for (row, _) in rows
        .into_iter()
        .filter(|(r, _)| is_due(r, now, grace))
        .take(LIMIT)
    {
        if join.named_in_catalogue(&row).await? {
            continue;
        }
        // Due at any read: a mark whose answer was lost is ours, and a marked row is never found
        // again, so the notice leaves now (a concurrent repeat has the same id).
        let mut seen_due = false;
        let due = |cur: &DayRow| is_due(cur, now, grace);
        let marked = mark_unrecorded(tables, outbox, &row, due, &mut seen_due, now).await;
        if seen_due {
            out.push(notification(&row, sources.bastion_id(&row.host)));
        }
        if let Err(e) = marked {
            // Still due: notified again next tick under the same id.
            tracing::error!(error.cause_chain = %crate::telemetry::redact(&e.to_string()), "marking an unrecorded session failed; retried next tick");
            break;
        }
    }
    Ok(out)
}

/// The notification for an unrecorded session; `bastion_id` gives the portal link when known.
pub fn notification(row: &DayRow, bastion_id: Option<&str>) -> Notification {
    let mut n = Notification::new(
        "session.unrecorded",
        &row.tunnel_id,
        row.end.map(format_utc).unwrap_or_default(),
        Severity::Warning,
        format!(
            "Bastion session to {} ended without a recording",
            if row.vm.is_empty() {
                "a VM".to_owned()
            } else {
                crate::telemetry::text::isolate(&row.vm)
            }
        ),
        json!({
            "tunnelId": row.tunnel_id, "bastionHost": row.host, "targetVm": row.vm,
            "userName": row.user_name, "userEmail": row.user_email, "protocol": row.protocol,
            "sessionStart": format_utc(row.start), "sessionEnd": row.end.map(format_utc),
        }),
    );
    if let Some(id) = bastion_id {
        n.data["bastionResourceId"] = Value::String(id.to_owned());
    }
    n
}
