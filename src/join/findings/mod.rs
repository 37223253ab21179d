//! The join's two findings, each alerted once (stable ids) by the writer that wins its mark:
//!
//! - `recording.suspect`: a row whose match the join judged `suspect` ([`super::correlate`]) is
//!   alerted once per content, marked on the row (`SuspectAlertedEtag`). Cataloguing alerts a row
//!   written suspect; a tick whose join pass changed a join scans the recent suspect rows not
//!   alerted yet ([`run_suspect`]).
//! - `session.unrecorded`: a successful session that no recording's match vouches for once the
//!   grace period after its end arrived has passed, or, its end record never arriving,
//!   `SESSION_MAX_HOURS` after its start (`ended: unknown`), and its join is not pending
//!   ([`run_unrecorded`]).

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::Join;
use crate::azure::AzureError;
use crate::catalogue::days::{self, DayRow, mark_unrecorded};
use crate::catalogue::doubt::Doubt;
use crate::catalogue::recording::{Confidence, Recording};
use crate::catalogue::repo::{self, CatalogueRepo};
use crate::catalogue::session::outcome;
use crate::dates::{format_date, format_utc};
use crate::notify::{Notification, Severity};
use crate::tables::filter::Op;
use crate::tables::{Filter, TableStore};

/// True when `row`'s match is suspect.
pub fn is_suspect(row: &Recording) -> bool {
    row.matched()
        .is_some_and(|m| matches!(m.confidence, Confidence::Suspect(_)))
}

/// True when `row` is suspect and its current content was not alerted yet. A time match whose
/// writer the logs have not confirmed ([`Doubt::WriterUnconfirmed`]) is no finding of its own:
/// it vouches for nothing, so its session is alerted `session.unrecorded`, and the writer the
/// logs then show makes it a finding when it is not the hosts'.
pub fn is_due(row: &Recording) -> bool {
    let unconfirmed = row
        .matched()
        .is_some_and(|m| m.confidence == Confidence::Suspect(Doubt::WriterUnconfirmed));
    is_suspect(row) && !unconfirmed && row.suspect_alerted.as_deref() != Some(row.etag.as_str())
}

/// The row once its alert is out: marked with the ETag alerted.
pub fn marked(row: &Recording) -> Recording {
    let mut r = row.clone();
    r.suspect_alerted = Some(r.etag.clone());
    r
}

/// The reason of a suspect row in words.
pub fn reason(row: &Recording) -> String {
    let doubt = row.matched().and_then(|m| match m.confidence {
        Confidence::Suspect(d) => Some(d),
        _ => None,
    });
    match doubt {
        Some(Doubt::TooSmall) => format!(
            "{} bytes when catalogued, fewer than RECORDING_MIN_BYTES ({})",
            row.content_length,
            row.below_min_bytes.unwrap_or_default()
        ),
        Some(Doubt::OutsideWindow) => format!(
            "created {}, outside the window of every session it names or fits \
             (from its start less 2 minutes to its end plus RECORDING_VOUCH_LAG_HOURS)",
            format_utc(row.created.unwrap_or(row.blob_created))
        ),
        Some(Doubt::OtherWriter) => match row.other_writer() {
            Some(w) => format!(
                "its content was written by {} with {} authentication from {}, neither through a SAS nor by an Entra identity as Bastion writes",
                w.operation, w.authentication, w.caller_ip
            ),
            None => String::new(),
        },
        Some(Doubt::NotRecordingIdentity) => match row.other_writer() {
            Some(w) => format!(
                "its content was written by {} with OAuth authentication by object id {} from {}, not the recording identity of the hosts recording into the container ({})",
                w.operation, w.object_id, w.caller_ip, w.expected
            ),
            None => String::new(),
        },
        Some(Doubt::WriterUnconfirmed) => "matched by time alone (its name and metadata name no session), and the storage logs have not shown its content written by the hosts' recording identity".to_owned(),
        None => String::new(),
    }
}

/// `recording.suspect` (critical) for `row`: one per recording and content (its ETag).
pub fn notification(row: &Recording) -> Notification {
    let m = row.matched();
    let data = json!({
        "recordingId": row.id(), "account": row.account, "bastionHost": row.source_bastion,
        "container": row.container, "blobName": row.blob_name, "blobUrl": row.blob_url,
        "contentLength": row.content_length, "blobCreated": format_utc(row.blob_created),
        "blobCreationTime": row.created.map(format_utc),
        "etag": row.etag,
        "reason": m.and_then(|m| m.confidence.reason()).unwrap_or_default(),
        "reasonText": reason(row),
        "tunnelIds": m.map(|m| m.tunnels.clone()).unwrap_or_default(),
        "writer": row.writer.as_ref().filter(|w| w.wrote(&row.etag)).map(|w| w.json()),
    });
    Notification::new(
        "recording.suspect",
        &[row.id().as_str(), "\n", &row.etag].concat(),
        format_utc(row.blob_created),
        Severity::Critical,
        "A blob naming a session cannot be its recording; the session stays unrecorded".to_owned(),
        data,
    )
}

/// Most rows read per run (suspect rows are few; the rest waits for the next tick).
const SUSPECT_LIMIT: usize = 1000;

/// Marks the suspect rows created since `window` (+2 days, the join's horizon) that were not
/// alerted and returns their notifications (at least once: a mark whose answer was lost, or a
/// concurrent run's, still notifies under the same id).
///
/// # Errors
/// Table errors of the query (a failed mark ends the run; its row is found again next tick).
pub async fn run_suspect(
    tables: &dyn TableStore,
    repo: &CatalogueRepo,
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Notification>, AzureError> {
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, super::horizon(now, window)),
        Filter::str("MatchConfidence", Op::Eq, "suspect"),
    ]);
    let rows = repo::versioned(tables, &filter, SUSPECT_LIMIT).await?;
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

/// Most notifications of this kind per run.
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
/// if longer; +1 day) and returns their notifications (at least once: a mark whose answer was
/// lost still notifies). Before a session is called unrecorded the
/// catalogue is looked at ([`super::Join::named_in_catalogue`]): a recording naming it that a pass has not
/// applied yet leaves it pending instead.
///
/// # Errors
/// Storage failures.
pub async fn run_unrecorded(
    join: &Join,
    waits: (Duration, Duration),
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Notification>, AzureError> {
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
            out.push(unrecorded_notification(&row, sources.bastion_id(&row.host)));
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
/// A session whose end record never arrived is `ended: unknown` (else `logged`).
pub fn unrecorded_notification(row: &DayRow, bastion_id: Option<&str>) -> Notification {
    let vm = if row.vm.is_empty() {
        "a VM".to_owned()
    } else {
        crate::telemetry::text::isolate(&row.vm)
    };
    let title = match row.end {
        Some(_) => format!("Bastion session to {vm} ended without a recording"),
        None => format!("Bastion session to {vm} has no recording, and its end was never logged"),
    };
    let mut n = Notification::new(
        "session.unrecorded",
        &row.tunnel_id,
        format_utc(row.end.unwrap_or(row.start)),
        Severity::Warning,
        title,
        json!({
            "tunnelId": row.tunnel_id, "bastionHost": row.host, "targetVm": row.vm,
            "userName": row.user_name, "userEmail": row.user_email, "protocol": row.protocol,
            "sessionStart": format_utc(row.start), "sessionEnd": row.end.map(format_utc),
            "ended": if row.end.is_some() { "logged" } else { "unknown" },
        }),
    );
    if let Some(id) = bastion_id {
        n.data["bastionResourceId"] = Value::String(id.to_owned());
    }
    n
}

#[cfg(test)]
mod tests;
