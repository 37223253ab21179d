//! `AuditLogCreated`: the one `BlobCreated` an append blob raises (at creation, usually empty) tags
//! it and registers its cursor; `AuditLogTail` reads the rest.

use time::OffsetDateTime;

use super::tail::{self, Tailer, TickReport};
use crate::audit_logs::Error;
use crate::clock::Budget;
use crate::events::event_grid::BlobEvent;
use crate::invocation::Outcome;
use crate::sources::Source;

/// Handles one BlobCreated event at `now`.
pub async fn on_created(
    tail: &Tailer,
    event: &BlobEvent,
    now: OffsetDateTime,
) -> Result<Outcome, Error> {
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

/// Registers the cursor of `blob_name` (an existing one keeps its offset) and, when `read`, reads
/// what is already there; `None` when the name is not a `PT1H.json` path.
pub async fn register(
    tail: &Tailer,
    source: &Source,
    blob_name: &str,
    created: OffsetDateTime,
    now: OffsetDateTime,
    read: bool,
) -> Result<Option<TickReport>, Error> {
    let Some(cursor) = tail.cursor_of(source, blob_name, created, None).await? else {
        return Ok(None);
    };
    if cursor.done || !read {
        return Ok(Some(TickReport::default()));
    }
    let settings = &tail.settings;
    let time = Budget::after(tail.ports.clock.clone(), settings.tail_budget);
    let mut report = tail.read_one(&cursor, now, &time).await?;
    // A failed check stays unchecked for the next tail tick.
    report.notifications = tail.bursts().await;
    Ok(Some(report))
}
