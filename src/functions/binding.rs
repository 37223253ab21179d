//! What a function reads off its invocation besides its own bindings: the Event Grid event of a
//! blob trigger, and the invocation's "now" (the host's time, else the clock).

use serde_json::Value;

use crate::events::event_grid::{BlobEvent, EventError};
use crate::invocation::Failure;
use crate::invocation::route::record_event;
use crate::invocation::{Invocation, Outcome};
use crate::state::AppState;

/// Decodes the `eventGridEvent` binding: `Err(outcome)` skips a well-formed event of another type.
///
/// # Errors
/// `Poison` for a missing or malformed event.
pub fn decode_event(inv: &Invocation) -> Result<Result<BlobEvent, Outcome>, Failure> {
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
        Err(e) => return Err(Failure::poison(e.to_string())),
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
