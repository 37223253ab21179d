//! `recordings.stalled`: sessions keep ending but no recording was created for N hours. Typical
//! cause: an expired SAS or broken identity on the Bastion side, which also blocks connections.
//! One notification per episode: a marker row in `auditstate` is set when the episode starts and
//! cleared when recordings arrive again.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::audit_logs::repo::{STATE_TABLE, WINDOWS_TABLE, WindowRow, query_all, update};
use crate::catalogue::RECORDINGS_TABLE;
use crate::dates::format_date;
use crate::dates::format_utc;
use crate::notify::{Notification, Severity};
use crate::state::AppState;
use crate::tables::filter::Op;
use crate::tables::{Filter, TableError, get_str};

/// Ended sessions needed in the window before the absence of recordings means anything.
pub const MIN_SESSIONS: usize = 2;
const MARKER_PK: &str = "state";
const MARKER_RK: &str = "recordings.stalled";

/// Pure decision: enough sessions ended (and had time to upload) but no recording was created.
pub fn is_stalled(ended_sessions: usize, recordings_in_window: usize) -> bool {
    ended_sessions >= MIN_SESSIONS && recordings_in_window == 0
}

/// Evaluates the condition over the last `after` and returns a notification when an episode starts.
///
/// # Errors
/// Table errors.
pub async fn run(
    state: &AppState,
    now: OffsetDateTime,
) -> Result<Option<Notification>, TableError> {
    let (after, lag) = (state.audit.stalled_after, state.audit.upload_lag);
    let since = now - after;
    let ended = count_ended(state, since, now - lag).await?;
    let recordings = count_recordings(state, since, now).await?;
    let stalled = is_stalled(ended, recordings);
    let mut started = false;
    let marked = update(
        &state.tables,
        STATE_TABLE,
        MARKER_PK,
        MARKER_RK,
        &mut |cur| {
            let active = cur
                .and_then(|e| e.get("Active"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            // Any read that saw the episode start counts: after a lost answer the re-read sees
            // our own mark, and the alert would otherwise never leave.
            started |= stalled && !active;
            if stalled == active {
                return None;
            }
            let mut e = cur.cloned().unwrap_or_default();
            e.insert("Active".into(), Value::Bool(stalled));
            if stalled {
                e.insert("Since".into(), Value::String(format_utc(since)));
            }
            Some(e)
        },
    )
    .await;
    if !started {
        return marked.map(|_| None);
    }
    if let Err(e) = marked {
        // The alert leaves all the same; if the mark was not stored, the next tick raises it again.
        tracing::error!(error.cause_chain = %crate::telemetry::redact(&e.to_string()), "marking a stalled episode failed; the alert may repeat");
    }
    let data = json!({"noRecordingSince": format_utc(since), "endedSessions": ended, "hours": after.whole_hours()});
    let title = format!(
        "No Bastion recording for {} h although {ended} sessions ended: check the recording SAS/identity",
        after.whole_hours()
    );
    Ok(Some(Notification::new(
        "recordings.stalled",
        &format_utc(since),
        format_utc(now),
        Severity::Critical,
        title,
        data,
    )))
}

async fn count_ended(
    state: &AppState,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<usize, TableError> {
    let filter = Filter::And(vec![
        Filter::str(
            "PartitionKey",
            Op::Ge,
            format_date((from - Duration::days(1)).date()),
        ),
        Filter::str(
            "Outcome",
            Op::Eq,
            crate::audit_logs::sessions::outcome::CONNECTED,
        ),
        Filter::str("End", Op::Ge, crate::dates::format_utc_millis(from)),
    ]);
    let rows = query_all(&state.tables, WINDOWS_TABLE, &filter, 1000).await?;
    Ok(rows
        .iter()
        .filter_map(|s| WindowRow::from_entity(&s.entity))
        .filter(|r| r.end.is_some_and(|e| e <= to))
        .count())
}

async fn count_recordings(
    state: &AppState,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<usize, TableError> {
    let mut day = from.date();
    while day <= to.date() {
        let filter = Filter::And(vec![
            Filter::partition(&format_date(day)),
            Filter::str("BlobCreated", Op::Ge, format_utc(from)),
        ]);
        let rows = query_all(&state.tables, RECORDINGS_TABLE, &filter, 1).await?;
        if rows
            .iter()
            .any(|r| get_str(&r.entity, "BlobCreated").is_some())
        {
            return Ok(rows.len());
        }
        day = match day.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    Ok(0)
}
