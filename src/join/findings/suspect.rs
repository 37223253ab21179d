//! `recording.suspect`: which rows are due, their marks, their finding and the tick's scan.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::catalogue::doubt::Doubt;
use crate::catalogue::recording::{Confidence, Recording};
use crate::catalogue::repo::{self, CatalogueRepo};
use crate::dates::format_utc;
use crate::spine::kinds::RECORDING_SUSPECT;
use crate::spine::{Finding, Severity};
use crate::tables::Filter;
use crate::tables::TableStore;
use crate::tables::filter::Op;

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
pub fn finding(row: &Recording) -> Finding {
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
    let key = [row.id().as_str(), "\n", &row.etag].concat();
    let at = format_utc(row.blob_created);
    Finding::new(&RECORDING_SUSPECT, key, at, Severity::Critical, data)
}

/// Most rows read per run (suspect rows are few; the rest waits for the next tick).
const SUSPECT_LIMIT: usize = 1000;

/// Marks the suspect rows created since `window` (+2 days, the join's horizon) that were not
/// alerted and returns their findings (at least once: a mark whose answer was lost, or a
/// concurrent run's, still notifies under the same id).
///
/// # Errors
/// Table errors of the query (a failed mark ends the run; its row is found again next tick).
pub async fn run_suspect(
    tables: &dyn TableStore,
    repo: &CatalogueRepo,
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Finding>, AzureError> {
    let filter = Filter::And(vec![
        Filter::str(
            "PartitionKey",
            Op::Ge,
            crate::join::reads::horizon(now, window),
        ),
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
            out.push(finding(&r));
        }
        if let Err(e) = written {
            tracing::error!(error.cause_chain = %crate::telemetry::redact(&e.to_string()), "marking a suspect recording failed; retried next tick");
            break;
        }
    }
    Ok(out)
}
