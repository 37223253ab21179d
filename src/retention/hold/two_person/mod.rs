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
mod record;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use self::ask::{Target, approve, request};
pub use self::record::{finish, requests, stamp};
use super::rows::{self, Actor, HOLDS_TABLE, header_rk, member_pk};
use crate::catalogue::person::Person;
use crate::catalogue::recording::RecordingKey;
use crate::dates::timestamp;
use crate::ports::{Ports, RequestError};
use crate::tables::keys::MAX_KEY_BYTES;
use crate::tables::ops::get;
use crate::tables::{Entity, get_str};

/// The partition of release requests.
pub const RELEASE_PK: &str = "release";

/// What a release asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole hold.
    Hold,
    /// One member.
    Recording(RecordingKey),
}

impl Scope {
    /// The `holds` row (partition and row key) the scope of hold `hold_id` is: header or member.
    fn row(&self, hold_id: &str) -> (String, String) {
        match self {
            Self::Hold => ("hold".to_owned(), header_rk(hold_id)),
            Self::Recording(k) => (member_pk(hold_id), k.id_key(MAX_KEY_BYTES)),
        }
    }
}

/// The release request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Its row key: the request's id.
    pub row_key: String,
    /// The row.
    pub entity: Entity,
}

impl Request {
    /// A property (empty when absent).
    pub fn get(&self, k: &str) -> &str {
        get_str(&self.entity, k).unwrap_or_default()
    }

    /// The response document's view of it.
    pub fn json(&self) -> Value {
        let g = |k| self.get(k);
        json!({
            "requestId": self.row_key, "holdId": g("HoldId"), "recording": g("Recording"),
            "status": g("Status"), "requestedBy": g("RequestedBy"), "requestedAt": g("RequestedAt"),
            "expiresAt": g("ExpiresAt"), "approvedBy": g("ApprovedBy"), "approvedAt": g("ApprovedAt"),
        })
    }
}

/// What [`decide`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No gate applies (the member is no longer held): the release goes on as for one person.
    Ungated,
    /// The request is recorded; a different person must approve it by naming it.
    Open(Request),
    /// Approved by a different person: release now.
    Approved(Request),
}

/// Who asks: the actor (name, reason, time), the person it is, and the request it names.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    /// Name, reason, time.
    pub actor: &'a Actor,
    /// Names and object id; no name at all: the caller names no user (an application token).
    pub person: &'a Person,
    /// The request this release approves (`None`: a new request).
    pub request: Option<&'a str>,
    /// How long an open request may be approved.
    pub ttl: Duration,
}

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

/// The person `e` records under `by` (`…`, `…ObjectId`, `…Names`).
fn person(e: &Entity, by: &str) -> Person {
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    let names = std::iter::once(s(by)).chain(s(&format!("{by}Names")).split('\n'));
    Person::new(names, Some(s(&format!("{by}ObjectId"))))
}

/// Why an open request `e` can no longer be approved for the placement held since `since`.
pub fn stale(e: &Entity, since: &str, now: OffsetDateTime) -> Option<String> {
    let expires = get_str(e, "ExpiresAt").and_then(timestamp);
    if get_str(e, "HeldSince") != Some(since) {
        return Some("the hold was placed again since it was requested".into());
    }
    match expires {
        Some(at) if at > now => None,
        _ => Some(format!(
            "it expired at {}",
            get_str(e, "ExpiresAt").unwrap_or("(unknown)")
        )),
    }
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
