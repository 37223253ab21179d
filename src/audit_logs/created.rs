//! `AuditLogCreated`: the one `BlobCreated` an append blob raises (at creation, usually empty) tags
//! it and registers its cursor; `AuditLogTail` reads the rest.

use time::OffsetDateTime;

use super::detect::unchecked;
use super::error::Error;
use super::tail::{self, Tailer, TickReport, register};
use crate::clock::Budget;
use crate::events::event_grid::BlobEvent;
use crate::sources::Source;

/// Handles one BlobCreated event at `now`: its tick's report, or (`Err`) why the event is skipped.
pub async fn on_created(
    tail: &Tailer,
    event: &BlobEvent,
    now: OffsetDateTime,
) -> Result<Result<TickReport, String>, Error> {
    if !event.is_created() {
        let why = format!("event type {} is not handled", event.event_type);
        return Ok(Err(why));
    }
    let Some(source) = tail
        .ports
        .sources
        .audit_log(&event.account, &event.container)
    else {
        return Ok(Err(format!(
            "container {} of account {} is not an audit-log source",
            event.container, event.account
        )));
    };
    let registered = register(tail, source, &event.blob, event.time, now, true).await?;
    Ok(registered.ok_or_else(|| format!("{} is not an hourly Bastion audit-log blob", event.blob)))
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
    let Some(cursor) = register::cursor(tail, source, blob_name, created, None).await? else {
        return Ok(None);
    };
    if cursor.done || !read {
        return Ok(Some(TickReport::default()));
    }
    let settings = &tail.settings;
    let time = Budget::after(tail.ports.clock.clone(), settings.tail_budget);
    let mut allowance = tail::blob::Allowance::of(settings);
    let read = tail::blob::read(tail, (source, &cursor), now, &mut allowance, &time, now).await?;
    let mut report = TickReport::default();
    report.add(&read);
    // A failed check stays unchecked for the next tail tick.
    report.findings = unchecked::bursts(&tail.ports, settings).await;
    Ok(Some(report))
}
