//! `recordings.stalled`, per recording source: sessions keep ending but no recording for N hours
//! (an expired SAS or broken identity on the Bastion side). One notification per episode: a marker
//! in `auditstate`, set when it starts and cleared when recordings arrive. A source tied to a host
//! counts that host's sessions only.

use crate::azure::AzureError;
use crate::ports::Ports;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::audit_logs::repo::STATE_TABLE;
use crate::audit_logs::sessions::outcome;
use crate::catalogue::days as day_rows;
use crate::catalogue::repo;
use crate::dates::{days, format_date, format_utc, format_utc_millis};
use crate::sources::Source;
use crate::spine::kinds::RECORDINGS_STALLED;
use crate::spine::{Finding, Severity};
use crate::tables::Filter;
use crate::tables::filter::Op;
use crate::tables::ops::update;

/// Ended sessions needed in the window before the absence of recordings means anything.
pub const MIN_SESSIONS: usize = 2;
/// Partition of the marker rows.
pub const MARKER_PK: &str = "state";
const MARKER_RK: &str = "recordings.stalled";

/// What the check needs: the catalogue and session tables, the sources and two settings.
#[derive(Clone)]
pub struct Stalled {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// `STALLED_AFTER_HOURS`: how long without a recording.
    pub after: Duration,
    /// `RECORDING_UPLOAD_LAG_MINUTES`: how long a recording may take to appear after its session.
    pub upload_lag: Duration,
}

/// Pure decision: enough sessions ended (and had time to upload) but no recording was created.
pub fn is_stalled(ended_sessions: usize, recordings_in_window: usize) -> bool {
    ended_sessions >= MIN_SESSIONS && recordings_in_window == 0
}

/// The marker row of `source`.
pub fn marker_key(source: &Source) -> String {
    [MARKER_RK, "~", source.account(), ".", &source.container].concat()
}

/// `source`'s check at `now`: the finding when its episode starts (a `Reconcile` unit of that
/// source runs it after its own listing, so sources done on different instances are each judged on
/// their own catalogue).
///
/// # Errors
/// Table errors (the source is checked again next run).
pub async fn check(
    deps: &Stalled,
    source: &Source,
    now: OffsetDateTime,
) -> Result<Option<Finding>, AzureError> {
    let since = now - deps.after;
    let ended = count_ended(deps, source, since, now - deps.upload_lag).await?;
    let recordings = count_recordings(deps, source, since, now).await?;
    let stalled = is_stalled(ended, recordings);
    let mut started = false;
    let marked = update(
        &*deps.ports.tables,
        STATE_TABLE,
        MARKER_PK,
        &marker_key(source),
        &mut |cur| {
            let cur = cur.map(|s| &s.entity);
            let active = cur
                .and_then(|e| e.get("Active"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            // Any read counts: after a lost answer the re-read sees our own mark.
            started |= stalled && !active;
            if stalled == active {
                return None;
            }
            let mut e = cur.cloned().unwrap_or_default();
            e.insert("Active".into(), Value::Bool(stalled));
            e.insert("Source".into(), Value::String(source.label()));
            if let Some(b) = &source.bastion {
                e.insert("BastionHost".into(), Value::String(b.clone()));
            }
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
    Ok(Some(finding(deps, source, since, now, ended)))
}

fn finding(
    deps: &Stalled,
    source: &Source,
    since: OffsetDateTime,
    now: OffsetDateTime,
    ended: usize,
) -> Finding {
    let hours = deps.after.whole_hours();
    let mut data = json!({"noRecordingSince": format_utc(since), "endedSessions": ended, "hours": hours,
        "account": source.account(), "container": source.container});
    let host = match &source.bastion {
        Some(b) => {
            data["bastionHost"] = Value::String(b.clone());
            format!("Bastion {b}: no recording")
        }
        None => "No Bastion recording".to_owned(),
    };
    let fact = [format_utc(since).as_str(), "\n", &source.label()].concat();
    Finding::new(
        &RECORDINGS_STALLED,
        fact,
        format_utc(now),
        Severity::Critical,
        data,
    )
    .portal(source.bastion_id.as_deref())
    .word("host", host)
    .word("hours", hours.to_string())
    .word("source", source.label())
    .word("ended", ended.to_string())
}

async fn count_ended(
    deps: &Stalled,
    source: &Source,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<usize, AzureError> {
    let first_day = format_date((from - Duration::days(1)).date());
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, first_day),
        Filter::str("Outcome", Op::Eq, outcome::CONNECTED),
        Filter::str("End", Op::Ge, format_utc_millis(from)),
    ]);
    let rows = day_rows::query(deps.ports.tables.as_ref(), &filter, 1000).await?;
    let host = source.bastion.as_deref();
    Ok((rows.iter())
        .filter(|(r, _)| r.end.is_some_and(|e| e <= to))
        .filter(|(r, _)| host.is_none_or(|b| r.host.eq_ignore_ascii_case(b)))
        .count())
}

/// Recordings of `source` created from `from` on (0 or more: only "any" matters).
async fn count_recordings(
    deps: &Stalled,
    source: &Source,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<usize, AzureError> {
    for day in days(from.date(), to.date()) {
        let filter = Filter::And(vec![
            Filter::partition(&format_date(day)),
            Filter::str("BlobCreated", Op::Ge, format_utc(from)),
            Filter::str("Container", Op::Eq, source.container.clone()),
        ]);
        let rows = repo::recordings(deps.ports.tables.as_ref(), &filter, 1000).await?;
        let ours = rows
            .iter()
            .filter(|r| r.account.eq_ignore_ascii_case(source.account()))
            .count();
        if ours > 0 {
            return Ok(ours);
        }
    }
    Ok(0)
}
