//! The rows of the custom tables, one struct each under the declaration's column names (the drift
//! test holds them to `sentinel/tables.json`): times in RFC 3339 UTC ms, unknown `null` or empty.

use serde::{Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;

use super::table::{ExportRow, Table};
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::{Entity, get_str};

fn utc<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_utc_millis(*t))
}

fn utc_opt<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => utc(t, s),
        None => s.serialize_none(),
    }
}

/// A time property of a table row (`None` when absent, empty or not a time).
pub(crate) fn time_of(e: &Entity, prop: &str) -> Option<OffsetDateTime> {
    get_str(e, prop)
        .filter(|s| !s.is_empty())
        .and_then(timestamp)
}

pub(crate) fn text(e: &Entity, prop: &str) -> String {
    get_str(e, prop).unwrap_or_default().to_owned()
}

macro_rules! export_row {
    ($row:ident, $table:expr, $id:ident) => {
        impl ExportRow for $row {
            fn table(&self) -> Table {
                $table
            }
            fn id(&self) -> &str {
                &self.$id
            }
            fn time(&self) -> OffsetDateTime {
                self.time_generated
            }
        }
    };
}

/// `BastionSessions_CL`: a session as `GET /api/sessions` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionRow {
    /// When the session's state changed.
    #[serde(serialize_with = "utc")]
    pub time_generated: OffsetDateTime,
    /// Tunnel id.
    pub session_id: String,
    /// Bastion host.
    pub bastion_host: String,
    /// VM user.
    pub user_name: String,
    /// Portal user's e-mail.
    pub user_email: String,
    /// Client IP.
    pub client_ip: String,
    /// Target VM.
    pub target_vm: String,
    /// Target VM resource id.
    pub target_resource_id: String,
    /// ssh / rdp.
    pub protocol: String,
    /// Start.
    #[serde(serialize_with = "utc_opt")]
    pub session_start: Option<OffsetDateTime>,
    /// End.
    #[serde(serialize_with = "utc_opt")]
    pub session_end: Option<OffsetDateTime>,
    /// Duration (ms) once ended.
    pub duration_ms: Option<i64>,
    /// `success`, `failed-login`, `other`, `unknown`.
    pub outcome: String,
    /// A recording is joined.
    pub recorded: bool,
    /// The joined recordings.
    pub recording_ids: Vec<String>,
    /// The join is being derived again.
    pub join_pending: bool,
    /// Latest review's verdict.
    pub review_verdict: String,
    /// Latest review's reviewer.
    pub reviewer: String,
    /// Latest review's time.
    #[serde(serialize_with = "utc_opt")]
    pub reviewed_at: Option<OffsetDateTime>,
    /// Who allowed it: `pim`, `pim-group`, `jit`, `standing`, `none`, `unknown` (empty: not
    /// decided yet), as `GET /api/sessions` shows `authorization`.
    pub authorization: String,
}
export_row!(SessionRow, Table::Sessions, session_id);

/// `BastionRecordings_CL`: a catalogue row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordingRow {
    /// When the catalogue row changed.
    #[serde(serialize_with = "utc")]
    pub time_generated: OffsetDateTime,
    /// Catalogue id.
    pub recording_id: String,
    /// Bastion host (the joined session's, else the source's).
    pub bastion_host: String,
    /// Storage account.
    pub account: String,
    /// Container.
    pub container: String,
    /// Blob name.
    pub blob_name: String,
    /// Size in bytes.
    pub content_length: Option<i64>,
    /// Blob creation.
    #[serde(serialize_with = "utc_opt")]
    pub blob_created: Option<OffsetDateTime>,
    /// Retention class.
    pub retention_class: String,
    /// Retain-until date.
    #[serde(serialize_with = "utc_opt")]
    pub retain_until: Option<OffsetDateTime>,
    /// Under legal hold.
    pub legal_hold: bool,
    /// SHA-256, once hashed.
    pub sha256: String,
    /// `catalogued` / `deleted`.
    pub status: String,
    /// Match confidence.
    pub match_confidence: String,
    /// The matched session's tunnel id.
    pub session_id: String,
    /// The matched session's start.
    #[serde(serialize_with = "utc_opt")]
    pub session_start: Option<OffsetDateTime>,
    /// The matched session's VM user.
    pub user_name: String,
    /// The matched session's VM.
    pub target_vm: String,
    /// The blob's retention tags as last found disagreeing with the row (restored from it).
    pub retagged_from: String,
    /// When they were found.
    #[serde(serialize_with = "utc_opt")]
    pub retagged_at: Option<OffsetDateTime>,
}
export_row!(RecordingRow, Table::Recordings, recording_id);

/// `BastionDetections_CL`: one notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectionRow {
    /// When the fact happened.
    #[serde(serialize_with = "utc")]
    pub time_generated: OffsetDateTime,
    /// Stable notification id.
    pub notification_id: String,
    /// Notification type.
    pub detection_type: String,
    /// `info`, `warning`, `critical`.
    pub severity: String,
    /// One-line summary.
    pub summary: String,
    /// Bastion host(s).
    pub bastion_host: String,
    /// Bastion host resource id.
    pub bastion_resource_id: String,
    /// VM user.
    pub user_name: String,
    /// Portal user's e-mail.
    pub user_email: String,
    /// Client IP.
    pub client_ip: String,
    /// Target VM.
    pub target_vm: String,
    /// Target resource id.
    pub target_resource_id: String,
    /// Tunnel or Bastion session id.
    pub session_id: String,
    /// Recording id.
    pub recording_id: String,
    /// The type-specific fields.
    pub data: Value,
}
export_row!(DetectionRow, Table::Detections, notification_id);

/// `BastionReviews_CL`: one review.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewRow {
    /// When it was recorded.
    #[serde(serialize_with = "utc")]
    pub time_generated: OffsetDateTime,
    /// Stable review id.
    pub review_id: String,
    /// `recording` / `session`.
    pub subject_kind: String,
    /// Recording id or tunnel id.
    pub subject_id: String,
    /// `ok`, `follow-up`, `incident`.
    pub verdict: String,
    /// Comment.
    pub comment: String,
    /// Ticket.
    pub ticket: String,
    /// The authenticated principal.
    pub reviewer: String,
    /// Bastion host of the subject.
    pub bastion_host: String,
    /// VM of the subject.
    pub target_vm: String,
    /// VM user of the subject.
    pub user_name: String,
    /// Tunnel id of the session.
    pub session_id: String,
    /// Session start.
    #[serde(serialize_with = "utc_opt")]
    pub session_start: Option<OffsetDateTime>,
    /// When retention deleted the recording.
    #[serde(serialize_with = "utc_opt")]
    pub recording_deleted_at: Option<OffsetDateTime>,
    /// The session's person: the Entra user its audit record carries, as the review kept it
    /// (empty when the record names none, and on reviews recorded before it was kept).
    pub user_email: String,
}
export_row!(ReviewRow, Table::Reviews, review_id);

impl ReviewRow {
    /// The row of a review as its table keeps it (`reviews::Review::to_entity`); `None` without
    /// an id or a time.
    pub fn of_review(e: &Entity) -> Option<Self> {
        Some(Self {
            time_generated: time_of(e, "ReviewedAt")?,
            review_id: get_str(e, "ReviewId")?.to_owned(),
            subject_kind: text(e, "SubjectKind"),
            subject_id: text(e, "SubjectId"),
            verdict: text(e, "Verdict"),
            comment: text(e, "Comment"),
            ticket: text(e, "Ticket"),
            reviewer: text(e, "Reviewer"),
            bastion_host: text(e, "BastionHost"),
            target_vm: text(e, "TargetVm"),
            user_name: text(e, "UserName"),
            session_id: text(e, "TunnelId"),
            session_start: time_of(e, "SessionStart"),
            recording_deleted_at: time_of(e, "DeletedAt"),
            user_email: text(e, "UserEmail"),
        })
    }
}

/// `BastionFindings_CL`: an estate finding's episode opening or clearing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingRow {
    /// When it opened or cleared.
    #[serde(serialize_with = "utc")]
    pub time_generated: OffsetDateTime,
    /// Stable id of the episode.
    pub finding_id: String,
    /// Host resource id.
    pub bastion_resource_id: String,
    /// Host name.
    pub bastion_host: String,
    /// Finding code.
    pub finding: String,
    /// `high`, `medium`, `info`.
    pub finding_severity: String,
    /// `open` / `resolved`.
    pub status: String,
    /// Opened.
    #[serde(serialize_with = "utc_opt")]
    pub opened_at: Option<OffsetDateTime>,
    /// Cleared.
    #[serde(serialize_with = "utc_opt")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Evidence.
    pub evidence: String,
}
export_row!(FindingRow, Table::Findings, finding_id);

/// `BastionDisconnects_CL`: a disconnect asked, or answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisconnectRow {
    /// When it was asked or answered.
    #[serde(serialize_with = "utc")]
    pub time_generated: OffsetDateTime,
    /// Stable id of the request.
    pub disconnect_id: String,
    /// Host resource id.
    pub bastion_resource_id: String,
    /// Host name.
    pub bastion_host: String,
    /// Bastion session id.
    pub session_id: String,
    /// Why.
    pub reason: String,
    /// Who asked.
    pub decided_by: String,
    /// When it was asked.
    #[serde(serialize_with = "utc_opt")]
    pub requested_at: Option<OffsetDateTime>,
    /// `Requested`, `Disconnected`, `Failed`, `NotFound`.
    pub state: String,
    /// Bastion's message.
    pub message: String,
}
export_row!(DisconnectRow, Table::Disconnects, disconnect_id);

impl DisconnectRow {
    /// The row of a `disconnects` entity in its current state: asked (`Requested`), or answered
    /// at `AnsweredAt`; `None` without a key or a time.
    pub fn of_disconnect(e: &Entity) -> Option<Self> {
        let requested = time_of(e, "At")?;
        let state = text(e, "State");
        let answered = time_of(e, "AnsweredAt").filter(|_| state != "Requested");
        Some(Self {
            time_generated: answered.unwrap_or(requested),
            disconnect_id: get_str(e, "RowKey").filter(|k| !k.is_empty())?.to_owned(),
            bastion_resource_id: text(e, "Host"),
            bastion_host: text(e, "HostName"),
            session_id: text(e, "SessionId"),
            reason: text(e, "Reason"),
            decided_by: text(e, "DecidedBy"),
            requested_at: Some(requested),
            state,
            message: text(e, "Message"),
        })
    }
}
