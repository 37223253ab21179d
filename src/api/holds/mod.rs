//! `POST /api/holds` (set), `DELETE /api/holds` (release), `GET /api/holds` (active holds, or the
//! holds of one recording): the HTTP face of [`crate::retention::hold`]; the CLI's `hold`
//! subcommand calls [`set`], [`release`] and [`list`] too, so both share one code path.
//!
//! With `HOLD_RELEASE_TWO_PERSON=true` a release is first a request (202, with its `requestId`),
//! and takes effect when a different person with the role releases the same target naming that
//! request (`request`); an application token (no user) is no person for either ([`two_person`]).
//!
//! The actor is the authenticated caller's name (role `Catalogue.Hold`), else
//! `anonymous/function-key` when the function key is the only credential (`CATALOGUE_AUTH=none`). Without `holdId` the id is derived from the target ([`derived_id`]),
//! so setting the same hold twice is a no-op and a release with the same target finds it.

pub mod body;
mod list;
#[cfg(test)]
mod tests;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use body::{HoldRequest, HoldTarget, derived_id};
pub(super) use list::handle_list;
pub use list::list;

use super::auth::{Caller, ROLE_HOLD};
use super::context::Api;
use super::problem::ApiError;
use crate::catalogue::person::Person;
use crate::catalogue::recording::RecordingKey;
use crate::ports::RequestError;
use crate::retention::hold::two_person::{self, Decision, Scope};
use crate::retention::hold::{self, Actor, Target, bulk};
use crate::retention::tombstone;
use crate::state::AppState;

/// Actor name of a function-key caller (`CATALOGUE_AUTH=none`: no caller is named).
pub const ANONYMOUS: &str = "anonymous/function-key";

/// Who acts: the authenticated caller's `name`, or [`ANONYMOUS`] for a function-key caller.
fn actor_of(name: Option<String>, reason: &str, state: &AppState) -> Actor {
    Actor {
        who: name.unwrap_or_else(|| ANONYMOUS.into()),
        why: reason.to_owned(),
        at: state.ports.clock.now(),
    }
}

/// A 409 when `key` has no catalogue row but a deletion tombstone: the recording is gone.
async fn gone(state: &AppState, key: &RecordingKey) -> Result<ApiError, ApiError> {
    Ok(
        if tombstone::is_deleted(state.ports.tables.as_ref(), key).await? {
            ApiError::Conflict(format!("recording {} was deleted by retention", key.id()))
        } else {
            ApiError::NotFound(format!("recording {}", key.id()))
        },
    )
}

/// Sets a hold; returns the response document.
///
/// # Errors
/// 400 / 404 / 409 / 503.
pub async fn set(state: &AppState, req: &HoldRequest, actor: &Actor) -> Result<Value, ApiError> {
    if req.request.is_some() {
        return Err(ApiError::BadRequest(
            "request: only a release names a release request".into(),
        ));
    }
    match &req.target {
        HoldTarget::One(t) => {
            // A blob URL is resolved through the blob's creation time.
            let key = hold::resolve(&state.ports, t).await?;
            let id = req.id(Some(&key));
            match hold::hold(&state.ports, &id, &Target::Key(key.clone()), actor).await {
                Ok(_) => Ok(json!({"holdId": id, "recordings": [key.id()], "count": 1})),
                Err(RequestError::NotFound(_)) => Err(gone(state, &key).await?),
                Err(e) => Err(e.into()),
            }
        }
        HoldTarget::Bulk(sel) => {
            let id = req.id(None);
            let n = bulk::hold_bulk(&state.ports, &id, sel, actor).await?;
            Ok(json!({"holdId": id, "count": n, "selector": sel}))
        }
    }
}

/// 404 for an unknown hold, 409 for one already released (a release is not repeated: the first
/// release's who/why/when stay the record).
async fn check_active(state: &AppState, id: &str) -> Result<(), ApiError> {
    match hold::header(&state.ports, id).await? {
        None => Err(ApiError::NotFound(format!("hold {id}"))),
        Some(h) if crate::tables::get_str(&h, "Status") == Some("released") => {
            Err(ApiError::Conflict(format!("hold {id} is already released")))
        }
        Some(_) => Ok(()),
    }
}

/// What a release did.
#[derive(Debug, Clone, PartialEq)]
pub enum Release {
    /// Released: the response document.
    Done(Value),
    /// Two-person release: the request is recorded and awaits a different principal.
    Requested(Value),
}

impl Release {
    /// The response document.
    pub fn doc(&self) -> &Value {
        match self {
            Self::Done(v) | Self::Requested(v) => v,
        }
    }
}

/// The two-person gate (`HOLD_RELEASE_TWO_PERSON`): `Err(Release::Requested)` while the request
/// awaits a second principal; `Ok(Some(request))` when approved (the hold's record is stamped with
/// both principals first); `Ok(None)` when off or nothing is held.
async fn gate(
    state: &AppState,
    id: &str,
    scope: &Scope,
    actor: &Actor,
    person: &Person,
    request: Option<&String>,
) -> Result<Result<Option<two_person::Request>, Release>, ApiError> {
    if !state.config.retention.hold_release_two_person {
        return Ok(Ok(None));
    }
    let asker = two_person::Asker {
        actor,
        person,
        request: request.map(String::as_str),
        ttl: state.config.retention.hold_release_request_ttl,
    };
    match two_person::decide(&state.ports, id, scope, asker).await? {
        Decision::Ungated => Ok(Ok(None)),
        Decision::Open(r) => {
            tracing::info!(hold = %id, who = %actor.who, "legal hold release requested: awaiting a second principal");
            let mut doc = r.json();
            doc["awaiting"] = json!(
                "a release by a different principal with the role Catalogue.Hold naming this request (\"request\": its requestId)"
            );
            Ok(Err(Release::Requested(doc)))
        }
        Decision::Approved(r) => {
            two_person::stamp(&state.ports, scope, &r).await?;
            Ok(Ok(Some(r)))
        }
    }
}

/// Marks an approved request released, and adds it to the answer.
async fn finished(
    state: &AppState,
    approved: Option<two_person::Request>,
    mut doc: Value,
) -> Result<Release, ApiError> {
    if let Some(r) = approved {
        let at = crate::dates::format_utc(state.ports.clock.now());
        two_person::finish(&state.ports, &r, &at).await?;
        doc["twoPerson"] = r.json();
    }
    Ok(Release::Done(doc))
}

/// Releases a hold (`person`: who the actor is, for the two-person rule); returns what it did.
///
/// # Errors
/// 400 / 403 (two-person: the requester again) / 404 / 409 / 503.
pub async fn release(
    state: &AppState,
    req: &HoldRequest,
    actor: &Actor,
    person: &Person,
) -> Result<Release, ApiError> {
    let key = match &req.target {
        HoldTarget::One(t) => Some(hold::resolve(&state.ports, t).await?),
        HoldTarget::Bulk(_) => None,
    };
    let id = req.id(key.as_ref());
    check_active(state, &id).await?;
    let scope = key.clone().map_or(Scope::Hold, Scope::Recording);
    let approved = match gate(state, &id, &scope, actor, person, req.request.as_ref()).await? {
        Ok(a) => a,
        Err(requested) => return Ok(requested),
    };
    let Some(key) = key else {
        let n = bulk::release_hold(&state.ports, &id, actor).await?;
        return finished(state, approved, json!({"holdId": id, "released": n})).await;
    };
    let r = hold::release(&state.ports, &id, &Target::Key(key), actor).await?;
    // The last member released: close the hold itself so it leaves the active list.
    if bulk::active_members(&state.ports, &id, 1).await?.is_empty() {
        bulk::release_hold(&state.ports, &id, actor).await?;
    }
    let doc = json!({
        "holdId": id, "recording": r.recording, "released": 1,
        "stillHeldBy": r.still_held_by,
        "restored": r.restored.map(|x| json!({"class": x.class, "until": x.until})),
    });
    finished(state, approved, doc).await
}

/// `POST /api/holds`.
pub(super) async fn post(
    caller: Caller,
    State(api): State<Api>,
    bytes: Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    // Authorization first: an unauthorized caller learns nothing about body validation.
    let name = caller.require(ROLE_HOLD)?;
    let req = body::parse(&bytes).map_err(ApiError::BadRequest)?;
    let actor = actor_of(name, &req.reason, &api.app);
    set(&api.app, &req, &actor).await.map(axum::Json)
}

/// `DELETE /api/holds`: 200 when released, 202 while a two-person release awaits its approver.
pub(super) async fn delete(
    caller: Caller,
    State(api): State<Api>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let id = caller.require_identity(ROLE_HOLD)?;
    // An application token names no user: no person for the two-person rule.
    let person = id.as_ref().map_or_else(
        || Person::new([ANONYMOUS], None),
        |i| i.user().unwrap_or_default(),
    );
    let req = body::parse(&bytes).map_err(ApiError::BadRequest)?;
    let actor = actor_of(id.map(|i| i.name), &req.reason, &api.app);
    Ok(
        match release(&api.app, &req, &actor, &person)
            .await
            .inspect_err(|e| {
                if let ApiError::Refused(why) = e {
                    tracing::warn!(who = %actor.who, why, "legal hold release refused");
                }
            })? {
            Release::Done(v) => axum::Json(v).into_response(),
            Release::Requested(v) => (StatusCode::ACCEPTED, axum::Json(v)).into_response(),
        },
    )
}
