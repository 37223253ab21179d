//! The two steps of a two-person release: a release naming no request makes one (or is told which
//! is open); a release naming one approves it, when it is open, of the placement still held,
//! not expired and by another person.

use serde_json::json;
use time::OffsetDateTime;

use super::model::{Asker, Decision, RELEASE_PK, Request, person, stale};
use crate::dates::format_utc;
use crate::ports::{Ports, RequestError};
use crate::retention::hold::rows::{self, HOLDS_TABLE};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, Stored, TableStore, get_str};

/// The hold placement a release addresses.
pub(super) struct Target<'a> {
    pub(super) hold_id: &'a str,
    pub(super) recording: &'a str,
    pub(super) since: &'a str,
}

/// The open requests (status `pending`) of `target`, as read (expired ones marked so on the way).
async fn open_requests(
    tables: &dyn TableStore,
    target: &Target<'_>,
    now: OffsetDateTime,
) -> Result<Vec<Stored>, RequestError> {
    let filter = Filter::And(vec![
        Filter::partition(RELEASE_PK),
        Filter::str("HoldId", Op::Eq, target.hold_id),
        Filter::str("Recording", Op::Eq, target.recording),
        Filter::str("Status", Op::Eq, "pending"),
    ]);
    let mut live = Vec::new();
    for row in query_all(tables, HOLDS_TABLE, &filter, 100).await? {
        match stale(&row.entity, target.since, now) {
            None => live.push(row),
            // Conditional: a request changed since is left.
            Some(why) => rows::replace(tables, &expired(&row.entity, &why, now), row.etag).await?,
        }
    }
    Ok(live)
}

/// Request `e` marked `expired` at `now`, with the reason.
fn expired(e: &Entity, why: &str, now: OffsetDateTime) -> Entity {
    let mut e = e.clone();
    let at = format_utc(now);
    for (k, v) in [
        ("Status", "expired"),
        ("ExpiredAt", &at),
        ("ExpiredReason", why),
    ] {
        e.insert(k.into(), v.into());
    }
    e
}

/// A release naming no request: a new request, unless one is open (the asker's: 403; someone
/// else's: 409 naming it, never approved without being named).
pub(super) async fn request(
    ports: &Ports,
    target: &Target<'_>,
    asker: Asker<'_>,
) -> Result<Decision, RequestError> {
    let tables = ports.tables.as_ref();
    let now = asker.actor.at;
    if let Some(p) = open_requests(tables, target, now).await?.first() {
        let (id, e) = (get_str(&p.entity, "RowKey").unwrap_or_default(), &p.entity);
        let at = get_str(e, "RequestedAt").unwrap_or_default();
        if let Some(m) = person(e, "RequestedBy").same_as(asker.person) {
            return Err(RequestError::Refused(format!(
                "the release of hold {} was requested by this principal (same {}) at {at} \
                 (request {id}); it takes effect when a different principal with the hold role \
                 releases it naming the request",
                target.hold_id,
                m.as_str()
            )));
        }
        return Err(RequestError::Conflict(format!(
            "release request {id} of hold {} by {} at {at} is pending: to approve it, release \
             again with \"request\": \"{id}\"",
            target.hold_id,
            get_str(e, "RequestedBy").unwrap_or_default()
        )));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let row = crate::tables::entity(json!({
        "PartitionKey": RELEASE_PK, "RowKey": id,
        "HoldId": target.hold_id, "Recording": target.recording, "Status": "pending",
        "RequestedBy": asker.actor.who,
        "RequestedByObjectId": asker.person.object_id.clone().unwrap_or_default(),
        "RequestedByNames": asker.person.names.join("\n"), "RequestedAt": format_utc(now),
        "ExpiresAt": format_utc(now + asker.ttl),
        "RequestReason": asker.actor.why, "HeldSince": target.since,
    }));
    rows::insert(tables, &row).await?;
    Ok(Decision::Open(Request {
        row_key: id,
        entity: row,
    }))
}

/// An approved request named again (its release failed or crashed after the approval): the
/// approval was consumed by the approver's attempt, so only that principal's retry finishes it
/// (`None`: no change, the caller releases), while it is of the placement still held and not
/// expired; expired, it is marked so (`Some`). The requester alone, or anyone else, is refused.
fn retry(
    e: &Entity,
    target: &Target<'_>,
    id: &str,
    asker: Asker<'_>,
    why: &mut Option<RequestError>,
) -> Option<Entity> {
    let s = |k| get_str(e, k).unwrap_or_default();
    let now = asker.actor.at;
    if let Some(stale) = stale(e, target.since, now) {
        *why = Some(RequestError::Conflict(format!(
            "release request {id} can no longer be used: {stale}; request the release again"
        )));
        return Some(expired(e, &stale, now));
    }
    if person(e, "ApprovedBy").same_as(asker.person).is_some() {
        return None;
    }
    let requester = person(e, "RequestedBy");
    *why = Some(if let Some(m) = requester.same_as(asker.person) {
        RequestError::Refused(format!(
            "release request {id} was approved by {} at {} and that release did not finish: only \
             the approver's retry may use the approval, never its requester (same {})",
            s("ApprovedBy"),
            s("ApprovedAt"),
            m.as_str()
        ))
    } else {
        RequestError::Conflict(format!(
            "release request {id} was approved by {} at {}: only the approver's retry may use \
             the approval; request the release again",
            s("ApprovedBy"),
            s("ApprovedAt")
        ))
    });
    None
}

/// A release naming request `id`: approves it when it is open, of this placement, not expired
/// and by another person; an approved one (a release that failed after the approval) only for
/// its approver's retry ([`retry`]).
pub(super) async fn approve(
    ports: &Ports,
    target: &Target<'_>,
    id: &str,
    asker: Asker<'_>,
) -> Result<Decision, RequestError> {
    let tables = ports.tables.as_ref();
    let (who, now) = (&asker.actor.who, asker.actor.at);
    let at = format_utc(now);
    let oid = asker.person.object_id.clone().unwrap_or_default();
    let names = asker.person.names.join("\n");
    let mut why: Option<RequestError> = None;
    let unknown = || RequestError::NotFound(format!("release request {id}"));
    if id.is_empty() || id.len() > 64 {
        return Err(unknown());
    }
    let stored = rows::change(tables, RELEASE_PK, id, &mut |cur: Option<&Stored>| {
        why = None;
        let Some(cur) = cur else {
            why = Some(unknown());
            return None;
        };
        let e = &cur.entity;
        let s = |k| get_str(e, k).unwrap_or_default();
        if s("HoldId") != target.hold_id || s("Recording") != target.recording {
            why = Some(RequestError::Conflict(format!(
                "release request {id} is for another hold or recording"
            )));
            return None;
        }
        match s("Status") {
            "pending" => {}
            // Consumed by the approver's attempt: only its retry may finish it, until it expires.
            "approved" => return retry(e, target, id, asker, &mut why),
            other => {
                why = Some(RequestError::Conflict(format!(
                    "release request {id} is {other}: request the release again"
                )));
                return None;
            }
        }
        if let Some(stale) = stale(e, target.since, now) {
            why = Some(RequestError::Conflict(format!(
                "release request {id} can no longer be approved: {stale}; request the release again"
            )));
            return None;
        }
        if let Some(m) = person(e, "RequestedBy").same_as(asker.person) {
            why = Some(RequestError::Refused(format!(
                "release request {id} was made by this principal (same {}) at {}; it takes effect \
                 when a different principal with the hold role releases it naming the request",
                m.as_str(),
                s("RequestedAt")
            )));
            return None;
        }
        let mut next = e.clone();
        for (k, v) in [
            ("Status", "approved"),
            ("ApprovedBy", who.as_str()),
            ("ApprovedByObjectId", oid.as_str()),
            ("ApprovedByNames", names.as_str()),
            ("ApprovedAt", at.as_str()),
            ("ApproveReason", asker.actor.why.as_str()),
        ] {
            next.insert(k.into(), v.into());
        }
        Some(next)
    })
    .await?;
    if let Some(e) = why {
        return Err(e);
    }
    let stored = stored.ok_or_else(unknown)?;
    let request = Request {
        row_key: id.to_owned(),
        entity: stored.entity,
    };
    match request.get("Status") {
        "approved" => Ok(Decision::Approved(request)),
        other => Err(RequestError::Conflict(format!(
            "release request {id} is {other}: request the release again"
        ))),
    }
}
