//! The function entry points: one module per function family, each turning an invocation into a
//! call of its domain over the state's ports and the settings it needs, and the domain's result into
//! an [`Outcome`]. The only code besides the API, the CLI and backfill that takes an [`AppState`].
//!
//! - [`recordings`]: `RecordingCreated` (Event Grid).
//! - [`custody`]: `CustodyActor` (timer): who deleted or replaced a recording, from the storage
//!   logs.
//! - [`audit_logs`]: `AuditLogCreated` (Event Grid) and `AuditLogTail` (timer).
//! - [`reconcile`]: `Reconcile` (timer): what events missed, through the recordings and audit-log
//!   paths (shared with `handler backfill`).
//! - [`retention`]: `RetentionSweep` (timer).
//! - [`integrity`]: `RecordingHash` (queue) and `IntegrityVerify` (timer).
//! - [`notify`]: `NotifyWebhook` (queue).
//! - [`estate`]: `EstateCheck` and `LiveSessions` (timers): the Bastion hosts through Resource
//!   Manager.
//! - [`reviews`]: `ReviewQueue` (timer): the review queue and `review.overdue`.
//! - [`evidence`]: `EvidencePack` (timer): the previous month's signed evidence pack.
//! - [`sentinel`]: `SentinelExport` (timer): the Sentinel outbox through the Logs Ingestion API.
//!
//! [`AppState`]: crate::state::AppState

pub mod audit_logs;
pub mod custody;
pub mod estate;
pub mod evidence;
pub mod integrity;
pub mod notify;
pub mod reconcile;
pub mod recordings;
pub mod retention;
pub mod reviews;
pub mod sentinel;

use serde_json::Value;

use crate::events::event_grid::{BlobEvent, EventError};
use crate::invocation::route::record_event;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::state::AppState;

/// Decodes the `eventGridEvent` binding: `Err(outcome)` skips a well-formed event of another type;
/// every other decoding failure is poison.
///
/// # Errors
/// `Poison` for a missing or malformed event.
pub fn decode_event(inv: &Invocation) -> Result<Result<BlobEvent, Outcome>, HandlerError> {
    let binding = inv.request.data_json("eventGridEvent")?;
    // An object (the usual shape) is read in place; a JSON string holding the event is decoded first.
    let event = if binding.starts_with('"') {
        let raw: Value = inv.request.data_object("eventGridEvent")?;
        BlobEvent::from_value(&raw)
    } else {
        BlobEvent::from_json(binding)
    };
    let event = match event {
        Ok(e) => e,
        Err(e @ EventError::OtherType(_)) => return Ok(Err(Outcome::skipped(e.to_string()))),
        Err(e) => return Err(HandlerError::poison(e.to_string())),
    };
    record_event(&event.id, &event.event_type, Some(&event.blob));
    Ok(Ok(event))
}

/// "Now" of a timer or event invocation: the host's `sys.UtcNow`, else the clock.
pub fn now_of(state: &AppState, inv: &Invocation) -> time::OffsetDateTime {
    inv.request
        .sys()
        .now()
        .unwrap_or_else(|| state.ports.clock.now())
}
