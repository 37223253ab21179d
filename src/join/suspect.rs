//! `recording.suspect`: a row whose match the join judged `suspect` ([`super::correlate`]) is
//! alerted once per content, marked on the row (`SuspectAlertedEtag`). Cataloguing alerts a row
//! written suspect; a tick whose join pass changed a join scans the recent suspect rows not
//! alerted yet ([`run`]).

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::catalogue::recording::{Confidence, Recording};
use crate::catalogue::repo::{self, CatalogueRepo};
use crate::dates::format_utc;
use crate::notify::{Notification, Severity};
use crate::tables::filter::Op;
use crate::tables::{Filter, TableStore};

/// True when `row`'s match is suspect.
pub fn is_suspect(row: &Recording) -> bool {
    row.matched()
        .is_some_and(|m| matches!(m.confidence, Confidence::Suspect(_)))
}

/// True when `row` is suspect and its current content was not alerted yet.
pub fn is_due(row: &Recording) -> bool {
    is_suspect(row) && row.suspect_alerted.as_deref() != Some(row.etag.as_str())
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
        Some(crate::catalogue::recording::Doubt::TooSmall) => format!(
            "{} bytes when catalogued, fewer than RECORDING_MIN_BYTES ({})",
            row.content_length,
            row.below_min_bytes.unwrap_or_default()
        ),
        Some(crate::catalogue::recording::Doubt::OutsideWindow) => format!(
            "created {}, outside the window of every session it names or fits \
             (from its start less 2 minutes to its end plus RECORDING_VOUCH_LAG_HOURS)",
            format_utc(row.created.unwrap_or(row.blob_created))
        ),
        Some(crate::catalogue::recording::Doubt::OtherWriter) => match row.other_writer() {
            Some(w) => format!(
                "its content was written by {} with {} authentication from {}, neither through a SAS nor by an Entra identity as Bastion writes",
                w.operation, w.authentication, w.caller_ip
            ),
            None => String::new(),
        },
        Some(crate::catalogue::recording::Doubt::NotRecordingIdentity) => {
            match row.other_writer() {
                Some(w) => format!(
                    "its content was written by {} with OAuth authentication by object id {} from {}, not the recording identity of the hosts recording into the container ({})",
                    w.operation, w.object_id, w.caller_ip, w.expected
                ),
                None => String::new(),
            }
        }
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
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, super::horizon(now, window)),
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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use serde_json::Value;

    use super::*;
    use crate::catalogue::recording::{Doubt, Joined, Match};

    fn suspect(d: Doubt) -> Recording {
        let mut r =
            crate::testkit::audit::recording_row("notes/x.txt", datetime!(2025-03-14 10:00 UTC));
        r.etag = "0x1".into();
        r.content_length = 1;
        r.below_min_bytes = Some(4096);
        r.joined = Some(Joined {
            m: Match {
                confidence: Confidence::Suspect(d),
                tunnels: vec!["t1".into()],
            },
            session: None,
        });
        r
    }

    #[test]
    fn due_once_per_content_with_a_stable_id() {
        let r = suspect(Doubt::TooSmall);
        assert!(is_due(&r));
        let m = marked(&r);
        assert!(!is_due(&m), "alerted for this ETag");
        let mut replaced = m.clone();
        replaced.etag = "0x2".into();
        assert!(is_due(&replaced), "new content, new alert");
        let n = notification(&r);
        assert_eq!(n.notification_id, notification(&m).notification_id);
        assert_ne!(n.notification_id, notification(&replaced).notification_id);
        assert_eq!(
            (n.kind.as_str(), n.severity),
            ("recording.suspect", Severity::Critical)
        );
        assert_eq!(n.data["reason"], "too-small");
        assert_eq!(n.data["tunnelIds"], json!(["t1"]));
        let mut late = suspect(Doubt::OutsideWindow);
        late.created = Some(datetime!(2025-03-20 10:00 UTC));
        let n = notification(&late);
        assert_eq!(n.data["reason"], "outside-window");
        assert_eq!(n.data["blobCreationTime"], "2025-03-20T10:00:00Z");
        assert!(
            n.data["reasonText"]
                .as_str()
                .is_some_and(|t| t.contains("created 2025-03-20T10:00:00Z")),
            "{}",
            n.data["reasonText"]
        );
        let n = notification(&r);
        assert!(
            n.data["reasonText"]
                .as_str()
                .is_some_and(|t| t.contains("4096"))
        );
        assert_eq!(n.data["writer"], Value::Null, "no writer read");
        let mut keyed = suspect(Doubt::OtherWriter);
        keyed.writer = Some(crate::catalogue::writer::Writer {
            etag: "0x1".into(),
            operation: "PutBlob".into(),
            authentication: "AccountKey".into(),
            caller_ip: "203.0.113.7:50112".into(),
            ..Default::default()
        });
        let n = notification(&keyed);
        assert_eq!(n.data["reason"], "written-by-other-principal");
        assert_eq!(n.data["writer"]["authenticationType"], "AccountKey");
        assert_eq!(n.data["writer"]["callerIpAddress"], "203.0.113.7:50112");
        assert!(
            n.data["reasonText"]
                .as_str()
                .is_some_and(|t| t.contains("AccountKey") && t.contains("203.0.113.7:50112")),
            "{}",
            n.data["reasonText"]
        );
        let mut exact = r.clone();
        exact.joined = Some(Joined {
            m: Match {
                confidence: Confidence::Exact,
                tunnels: vec!["t1".into()],
            },
            session: None,
        });
        assert!(!is_due(&exact), "only suspect rows");
    }
}
