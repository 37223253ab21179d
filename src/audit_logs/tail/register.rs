//! Registering an hour blob's cursor without reading it (`AuditLogCreated`, the tick's listing, the
//! backfill): the blob tagged with the audit-log retention class, its cursor inserted (an existing
//! one keeps its offset).

use time::OffsetDateTime;

use super::tailer::Tailer;
use crate::audit_logs::error::Error;
use crate::audit_logs::path::parse_blob_path;
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::catalogue::policy::audit_log_retention;
use crate::sources::Source;
use crate::storage::update_tags;

/// Tags `blob_name` and registers its cursor; returns the cursor as stored. `tag_count`: the
/// blob's tags as a listing counted them (`None`: unknown, read). `None` when the name is not a
/// `PT1H.json` path or the blob is gone.
///
/// # Errors
/// [`Error::Port`] when the blob's tags or the cursor table fail.
pub async fn cursor(
    tail: &Tailer,
    source: &Source,
    blob_name: &str,
    created: OffsetDateTime,
    tag_count: Option<u32>,
) -> Result<Option<Cursor>, Error> {
    let Ok(hour) = parse_blob_path(blob_name) else {
        return Ok(None);
    };
    // Tagged with `RETENTION_CLASS_AUDITLOGS`, so the sweep's single `retainUntil` range query
    // finds it when it expires; other tags, holds and later dates are kept. A listing that counted
    // no tags spares reading them (as for recordings).
    let blob = source.blob(blob_name);
    let (policy, class) = (&tail.policy, &tail.retention_class);
    let tagged = update_tags(&*source.store, &blob, tag_count == Some(0), |existing| {
        audit_log_retention(policy, class, existing, created)
    })
    .await?;
    if tagged.is_none() {
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
        None => Err(Error::Interrupted(format!(
            "cursor of {blob_name} vanished after registration"
        ))),
    }
}
