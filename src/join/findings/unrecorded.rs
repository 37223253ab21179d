//! `session.unrecorded`: which sessions are due, their marks and their finding.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::catalogue::days::{self, DayRow, mark_unrecorded};
use crate::catalogue::session::outcome;
use crate::dates::{format_date, format_utc};
use crate::join::reads::Join;
use crate::spine::kinds::SESSION_UNRECORDED;
use crate::spine::{Finding, Severity};
use crate::tables::Filter;
use crate::tables::filter::Op;

/// Most findings of this kind per run.
const UNRECORDED_LIMIT: usize = 100;

/// True when `row` is a compliance gap at `now`: `grace` after its end arrived, or, while its end
/// is unknown, `max` after its start (`(grace, max)`). A pending session's recorded state is still
/// being derived (a recording may have just joined or left it): it is decided once the join has
/// run.
pub fn unrecorded_due(
    row: &DayRow,
    now: OffsetDateTime,
    (grace, max): (Duration, Duration),
) -> bool {
    let judged = match row.end {
        Some(_) => row.end_arrived_at.is_some_and(|a| a + grace <= now),
        None => row.start + max <= now,
    };
    row.outcome == outcome::CONNECTED
        && row.pending.is_none()
        && !row.recorded
        && !row.unrecorded_notified
        && judged
}

/// Marks the sessions due that started in the last `window` (or the longest session, `waits.1`,
/// if longer; +1 day) and returns their findings (at least once: a mark whose answer was
/// lost still notifies). Before a session is called unrecorded the
/// catalogue is looked at ([`Join::named_in_catalogue`]): a recording naming it that a pass has not
/// applied yet leaves it pending instead.
///
/// # Errors
/// Storage failures.
pub async fn run_unrecorded(
    join: &Join,
    waits: (Duration, Duration),
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Finding>, AzureError> {
    let (tables, outbox) = (join.ports.tables.as_ref(), &join.ports.outbox);
    let sources = &join.ports.sources;
    let first_day = format_date((now - window.max(waits.1) - Duration::days(1)).date());
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
        .filter(|(r, _)| unrecorded_due(r, now, waits))
        .take(UNRECORDED_LIMIT)
    {
        if join.named_in_catalogue(&row).await? {
            continue;
        }
        // Due at any read: a mark whose answer was lost is ours, and a marked row is never found
        // again, so the notice leaves now (a concurrent repeat has the same id).
        let mut seen_due = false;
        let due = |cur: &DayRow| unrecorded_due(cur, now, waits);
        let marked = mark_unrecorded(tables, outbox, &row, due, &mut seen_due, now).await;
        if seen_due {
            out.push(unrecorded_finding(&row, sources.bastion_id(&row.host)));
        }
        if let Err(e) = marked {
            // Still due: notified again next tick under the same id.
            tracing::error!(error.cause_chain = %crate::telemetry::redact(&e.to_string()), "marking an unrecorded session failed; retried next tick");
            break;
        }
    }
    Ok(out)
}

/// The finding of an unrecorded session; `bastion_id` gives the portal link when known.
/// A session whose end record never arrived is `ended: unknown` (else `logged`).
pub fn unrecorded_finding(row: &DayRow, bastion_id: Option<&str>) -> Finding {
    let vm = if row.vm.is_empty() {
        "a VM".to_owned()
    } else {
        crate::telemetry::text::isolate(&row.vm)
    };
    let ending = match row.end {
        Some(_) => "ended without a recording",
        None => "has no recording, and its end was never logged",
    };
    let at = format_utc(row.end.unwrap_or(row.start));
    let evidence = json!({
            "tunnelId": row.tunnel_id, "bastionHost": row.host, "targetVm": row.vm,
            "userName": row.user_name, "userEmail": row.user_email, "protocol": row.protocol,
            "sessionStart": format_utc(row.start), "sessionEnd": row.end.map(format_utc),
            "ended": if row.end.is_some() { "logged" } else { "unknown" },
    });
    let f = Finding::new(
        &SESSION_UNRECORDED,
        &row.tunnel_id,
        at,
        Severity::Warning,
        evidence,
    );
    f.portal(bastion_id).word("vm", vm).word("ending", ending)
}
