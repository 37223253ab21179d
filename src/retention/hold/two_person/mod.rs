//! Two-person release (`HOLD_RELEASE_TWO_PERSON=true`, docs/retention.md): one row per request in
//! table `holds`, partition `release`, keyed by the request's own id (a random UUID), with the hold,
//! the recording (`*`: whole hold) and the placement it asks to release (`HeldSince`). A request is
//! `pending` until a different person releases naming it (`approved`, then `released`); it
//! `expired` after `HOLD_RELEASE_REQUEST_HOURS` or once the hold was placed again, approved or not.
//! The approval is consumed by the approver's attempt: a release that failed after it is finished
//! only by that principal's retry, never by the requester alone. A release that
//! names no request never approves one: it makes one (or is told which one is open). A caller
//! that names no user (an application token) is no person for either step. Every write is
//! conditional.

mod ask;
mod model;
mod record;

use serde_json::Value;

use self::ask::{Target, approve, request};
pub use self::model::{Asker, Decision, Request, Scope};
pub use self::record::{finish, requests, stamp};
use super::rows::HOLDS_TABLE;
use crate::ports::{Ports, RequestError};
use crate::tables::get_str;
use crate::tables::ops::get;

/// Since when the scope is held (`SetAt` or the member's `HeldAt`); `None`: not held, not gated.
async fn held_since(
    ports: &Ports,
    hold_id: &str,
    scope: &Scope,
) -> Result<Option<String>, RequestError> {
    let (pk, rk) = scope.row(hold_id);
    let Some(row) = get(ports.tables.as_ref(), HOLDS_TABLE, &pk, &rk).await? else {
        return Ok(None);
    };
    let e = &row.entity;
    let (held, since) = match scope {
        Scope::Hold => (get_str(e, "Status") == Some("active"), "SetAt"),
        Scope::Recording(_) => (
            e.get("Active").and_then(Value::as_bool) != Some(false),
            "HeldAt",
        ),
    };
    Ok(held.then(|| get_str(e, since).unwrap_or_default().to_owned()))
}

/// Records a new request (`Open`), refuses (the requester again, an application token, an
/// unusable named request) or approves the named one; an approved request lets its approver's
/// retry finish.
///
/// # Errors
/// `Refused` (same person, or no person), `NotFound` (unknown request), `Conflict` (a request by
/// someone else is open and must be named; the named one is not open, expired or of another
/// target), `Storage`.
pub async fn decide(
    ports: &Ports,
    hold_id: &str,
    scope: &Scope,
    asker: Asker<'_>,
) -> Result<Decision, RequestError> {
    let Some(since) = held_since(ports, hold_id, scope).await? else {
        return Ok(Decision::Ungated);
    };
    if asker.person.names.is_empty() {
        return Err(RequestError::Refused(
            "the caller names no user (an application token): a two-person release needs people, \
             for the request and for the approval"
                .into(),
        ));
    }
    let recording = match scope {
        Scope::Hold => String::new(),
        Scope::Recording(k) => k.id(),
    };
    let target = Target {
        hold_id,
        recording: &recording,
        since: &since,
    };
    match asker.request {
        None => request(ports, &target, asker).await,
        Some(id) => approve(ports, &target, id, asker).await,
    }
}
