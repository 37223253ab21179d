//! `AuditLogCreated` (Event Grid, `eventGridEvent`): the one `BlobCreated` a `PT1H.json` append blob
//! ever raises (at creation, usually empty). Validates the path, registers a tail cursor (offset 0)
//! and reads whatever is already there; `AuditLogTail` does the rest.

use time::OffsetDateTime;

use super::detect::failed;
use super::join::Deadline;
use super::path::parse_blob_path;
use super::repo::{Cursor, CursorRepo};
use super::tail::{self, TickReport};
use crate::app::AppState;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::recordings::handler::decode_event;
use crate::retention::tags::audit_log_retention;
use crate::storage::{BlobRef, StorageError};

/// Handles one invocation.
///
/// # Errors
/// `Poison` for a malformed event, `Retryable` for storage failures.
pub async fn handle(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let event = match decode_event(&inv)? {
        Ok(event) => event,
        Err(skipped) => return Ok(skipped),
    };
    if !event.is_created() {
        return Ok(Outcome::skipped(format!(
            "event type {} is not handled",
            event.event_type
        )));
    }
    if event.container != state.config.auditlogs_container {
        return Ok(Outcome::skipped(format!(
            "container {} is not the audit-log container",
            event.container
        )));
    }
    if !event
        .account
        .eq_ignore_ascii_case(state.audit_logs.account())
    {
        return Ok(Outcome::skipped(format!(
            "account {} is not the configured audit-log account",
            event.account
        )));
    }
    let now = tail::now_of(&state, &inv);
    match register(&state, &event.blob, event.time, now, true).await? {
        None => Ok(Outcome::skipped(format!(
            "{} is not an hourly Bastion audit-log blob",
            event.blob
        ))),
        Some(report) => Ok(tail::outcome(report)),
    }
}

/// Registers the cursor of `blob_name` (idempotent: an existing cursor keeps its offset) and, when
/// `read`, reads what is already there. `None` when the name is not a `PT1H.json` path. Shared with
/// `Reconcile` (which only registers, leaving the reading to the bounded tail).
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn register(
    state: &AppState,
    blob_name: &str,
    created: OffsetDateTime,
    now: OffsetDateTime,
    read: bool,
) -> Result<Option<TickReport>, HandlerError> {
    let Ok(hour) = parse_blob_path(blob_name) else {
        return Ok(None);
    };
    if !tag_retention(state, blob_name, created).await? {
        // Deleted before we got to it: nothing to tail.
        return Ok(None);
    }
    let repo = CursorRepo::new(state.tables.clone());
    let fresh = Cursor::new(blob_name, hour.hour, created, &hour.bastion_host);
    repo.register(&fresh).await?;
    let Some(cursor) = repo.get(blob_name, hour.hour).await? else {
        return Err(HandlerError::storage(anyhow::anyhow!(
            "cursor of {blob_name} vanished after registration"
        )));
    };
    if cursor.done || !read {
        return Ok(Some(TickReport::default()));
    }
    let tail = tail::context(state);
    let deadline = Deadline::after(state.clock.clone(), state.audit.tail_budget);
    let mut report = tail
        .read_one(&cursor, now, state.audit.tail_max_bytes, &deadline)
        .await?;
    // Partitions touched are pending (durably); a failed check is retried by the next tail tick.
    report.notifications = failed::run_pending(
        &state.tables,
        state.audit.failed_login_threshold,
        state.audit.failed_login_window,
    )
    .await;
    Ok(Some(report))
}

/// Tags the hour blob with the audit-log retention class (`RETENTION_CLASS_AUDITLOGS`), so the
/// sweep's single `retainUntil` range query finds it when it expires. Keeps other tags, holds and
/// later dates. `false` when the blob no longer exists.
async fn tag_retention(
    state: &AppState,
    blob_name: &str,
    created: OffsetDateTime,
) -> Result<bool, HandlerError> {
    let blob = BlobRef::new(state.config.auditlogs_container.clone(), blob_name);
    let existing = match state.audit_logs.get_tags(&blob).await {
        Err(StorageError::NotFound) => return Ok(false),
        other => other?,
    };
    let class = &state.config.retention.audit_logs_class;
    let (tags, _) = audit_log_retention(&state.policy, class, &existing, created);
    if tags != existing {
        match state.audit_logs.set_tags(&blob, &tags, None).await {
            Err(StorageError::NotFound) => return Ok(false),
            other => other?,
        }
    }
    Ok(true)
}
