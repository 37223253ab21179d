//! What a two-person release speaks of: the partition of requests, the scope a release asks for,
//! the stored request, the decision and who asks; a request row read for the person it records and
//! for why it can no longer be approved.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::catalogue::person::Person;
use crate::catalogue::recording::RecordingKey;
use crate::dates::timestamp;
use crate::retention::hold::rows::{Actor, header_rk, member_pk};
use crate::tables::keys::MAX_KEY_BYTES;
use crate::tables::{Entity, get_str};

/// The partition of release requests.
pub(super) const RELEASE_PK: &str = "release";

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
    pub(super) fn row(&self, hold_id: &str) -> (String, String) {
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

/// What [`super::decide`] found.
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

/// The person `e` records under `by` (`…`, `…ObjectId`, `…Names`).
pub(super) fn person(e: &Entity, by: &str) -> Person {
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    let names = std::iter::once(s(by)).chain(s(&format!("{by}Names")).split('\n'));
    Person::new(names, Some(s(&format!("{by}ObjectId"))))
}

/// Why an open request `e` can no longer be approved for the placement held since `since`.
pub(super) fn stale(e: &Entity, since: &str, now: OffsetDateTime) -> Option<String> {
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
