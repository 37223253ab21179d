//! A new `PT1H.json` (`AuditLogCreated`: the one `BlobCreated` an append blob ever raises, at
//! creation, usually empty): validates the path, tags the blob with the audit-log retention class,
//! registers a tail cursor (offset 0) and reads whatever is already there; `AuditLogTail` does the
//! rest. Events of containers no audit-log source names are skipped.

use time::OffsetDateTime;

use super::detect::failed;
use super::path::parse_blob_path;
use super::repo::{Cursor, CursorRepo};
use super::tail::{self, Tailer, TickReport};
use crate::clock::Budget;
use crate::events::event_grid::BlobEvent;
use crate::invocation::{HandlerError, Outcome};
use crate::retention::tags::audit_log_retention;
use crate::sources::Source;
use crate::storage::update_tags;

/// Handles one BlobCreated event at `now`.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn on_created(
    tail: &Tailer,
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
    tail: &Tailer,
    source: &Source,
    blob_name: &str,
    created: OffsetDateTime,
    now: OffsetDateTime,
    read: bool,
) -> Result<Option<TickReport>, HandlerError> {
    let Some(cursor) = cursor_of(tail, source, blob_name, created, None).await? else {
        return Ok(None);
    };
    if cursor.done || !read {
        return Ok(Some(TickReport::default()));
    }
    let settings = &tail.settings;
    let deadline = Budget::after(tail.ports.clock.clone(), settings.tail_budget);
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

/// [`register`] without reading: tags the hour blob and registers its cursor (idempotent: an
/// existing cursor keeps its offset); returns the cursor as stored. `tag_count`: the blob's tags
/// as a listing counted them (`None`: unknown, read). `None` when the name is not a `PT1H.json`
/// path or the blob is gone.
///
/// # Errors
/// `Retryable` for storage failures.
pub async fn cursor_of(
    tail: &Tailer,
    source: &Source,
    blob_name: &str,
    created: OffsetDateTime,
    tag_count: Option<u32>,
) -> Result<Option<Cursor>, HandlerError> {
    let Ok(hour) = parse_blob_path(blob_name) else {
        return Ok(None);
    };
    if !tag_retention(tail, source, blob_name, created, tag_count).await? {
        // Deleted before we got to it: nothing to tail.
        return Ok(None);
    }
    let repo = CursorRepo::new(tail.ports.tables.clone());
    let at = tail.ports.sources.cursor_source(source);
    let fresh =
        Cursor::new(blob_name, hour.hour, created, &hour.bastion_host).in_source(at.clone());
    // Inserted now: the cursor as written, no read; else the one stored.
    if let Some(cursor) = repo.register(&fresh).await? {
        return Ok(Some(cursor));
    }
    match repo.get(at, blob_name, hour.hour).await? {
        Some(cursor) => Ok(Some(cursor)),
        None => Err(HandlerError::storage(anyhow::anyhow!(
            "cursor of {blob_name} vanished after registration"
        ))),
    }
}

/// Tags the hour blob with the audit-log retention class (`RETENTION_CLASS_AUDITLOGS`), so the
/// sweep's single `retainUntil` range query finds it when it expires. Keeps other tags, holds and
/// later dates. `false` when the blob no longer exists.
async fn tag_retention(
    tail: &Tailer,
    source: &Source,
    blob_name: &str,
    created: OffsetDateTime,
    tag_count: Option<u32>,
) -> Result<bool, HandlerError> {
    let blob = source.blob(blob_name);
    let policy = &tail.join.policy;
    // A listing that counted no tags spares reading them (as for recordings).
    let done = update_tags(&*source.store, &blob, tag_count == Some(0), |existing| {
        audit_log_retention(policy, &tail.retention_class, existing, created)
    })
    .await?;
    Ok(done.is_some())
}
