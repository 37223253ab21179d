//! A new `PT1H.json` (`AuditLogCreated`: the one `BlobCreated` an append blob ever raises, at
//! creation, usually empty): validates the path, tags the blob with the audit-log retention class,
//! registers a tail cursor (offset 0) and reads whatever is already there; `AuditLogTail` does the
//! rest. Events of containers no audit-log source names are skipped.

use time::OffsetDateTime;

use super::detect::failed;
use super::join::Deadline;
use super::path::parse_blob_path;
use super::repo::{Cursor, CursorRepo};
use super::tail::{self, Tail, TickReport};
use crate::events::event_grid::BlobEvent;
use crate::invocation::{HandlerError, Outcome};
use crate::retention::tags::audit_log_retention;
use crate::sources::Source;
use crate::storage::StorageError;

/// Handles one BlobCreated event at `now`.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn on_created(
    tail: &Tail,
    event: &BlobEvent,
    now: OffsetDateTime,
) -> Result<Outcome, HandlerError> {
    if !event.is_created() {
        let why = format!("event type {} is not handled", event.event_type);
        return Ok(Outcome::skipped(why));
    }
    let Some(source) = tail
        .ports
        .sources
        .audit_log(&event.account, &event.container)
    else {
        return Ok(Outcome::skipped(format!(
            "container {} of account {} is not an audit-log source",
            event.container, event.account
        )));
    };
    match register(tail, source, &event.blob, event.time, now, true).await? {
        None => Ok(Outcome::skipped(format!(
            "{} is not an hourly Bastion audit-log blob",
            event.blob
        ))),
        Some(report) => Ok(tail::outcome(report)),
    }
}

/// Registers the cursor of `blob_name` in `source` (idempotent: an existing cursor keeps its
/// offset) and, when `read`, reads what is already there. `None` when the name is not a
/// `PT1H.json` path. Shared with `Reconcile` (which only registers, leaving the reading to the
/// bounded tail) and the backfill.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn register(
    tail: &Tail,
    source: &Source,
    blob_name: &str,
    created: OffsetDateTime,
    now: OffsetDateTime,
    read: bool,
) -> Result<Option<TickReport>, HandlerError> {
    let Ok(hour) = parse_blob_path(blob_name) else {
        return Ok(None);
    };
    if !tag_retention(tail, source, blob_name, created).await? {
        // Deleted before we got to it: nothing to tail.
        return Ok(None);
    }
    let repo = CursorRepo::new(tail.ports.tables.clone());
    let at = tail.ports.sources.cursor_source(source);
    let fresh =
        Cursor::new(blob_name, hour.hour, created, &hour.bastion_host).in_source(at.clone());
    repo.register(&fresh).await?;
    let Some(cursor) = repo.get(at, blob_name, hour.hour).await? else {
        return Err(HandlerError::storage(anyhow::anyhow!(
            "cursor of {blob_name} vanished after registration"
        )));
    };
    if cursor.done || !read {
        return Ok(Some(TickReport::default()));
    }
    let settings = &tail.settings;
    let deadline = Deadline::after(tail.ports.clock.clone(), settings.tail_budget);
    let mut report = tail
        .read_one(&cursor, now, settings.tail_max_bytes, &deadline)
        .await?;
    // Partitions touched are pending (durably); a failed check is retried by the next tail tick.
    report.notifications = failed::run_pending(
        &tail.ports.tables,
        &tail.ports.sources,
        settings.failed_login_threshold,
        settings.failed_login_window,
    )
    .await;
    Ok(Some(report))
}

/// Tags the hour blob with the audit-log retention class (`RETENTION_CLASS_AUDITLOGS`), so the
/// sweep's single `retainUntil` range query finds it when it expires. Keeps other tags, holds and
/// later dates. `false` when the blob no longer exists.
async fn tag_retention(
    tail: &Tail,
    source: &Source,
    blob_name: &str,
    created: OffsetDateTime,
) -> Result<bool, HandlerError> {
    let blob = source.blob(blob_name);
    let existing = match source.store.get_tags(&blob).await {
        Err(StorageError::NotFound) => return Ok(false),
        other => other?,
    };
    let policy = &tail.join.policy;
    let (tags, _) = audit_log_retention(policy, &tail.retention_class, &existing, created);
    if tags != existing {
        match source.store.set_tags(&blob, &tags, None).await {
            Err(StorageError::NotFound) => return Ok(false),
            other => other?,
        }
    }
    Ok(true)
}
