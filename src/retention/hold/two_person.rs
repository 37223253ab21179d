//! Two-person release (`HOLD_RELEASE_TWO_PERSON=true`, docs/retention.md): one row per request in
//! table `holds`, partition `release`, keyed by hold, recording (`*`: whole hold) and when it was
//! held (a hold set again needs a new request); `pending` → `approved` → `released`, every write
//! conditional.

use serde_json::{Value, json};

use super::HoldError;
use super::rows::{Actor, HOLDS_TABLE, header_rk, member_pk};
use crate::azure::AzureError;
use crate::catalogue::person::Person;
use crate::catalogue::recording::RecordingKey;
use crate::dates::format_utc;
use crate::ports::Ports;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, update};
use crate::tables::{Entity, Filter, Stored, TableStore, get_str};

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

/// The release request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Its row key.
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
            "holdId": g("HoldId"), "recording": g("Recording"), "status": g("Status"),
            "requestedBy": g("RequestedBy"), "requestedAt": g("RequestedAt"),
            "approvedBy": g("ApprovedBy"), "approvedAt": g("ApprovedAt"),
        })
    }
}

/// What [`decide`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No gate applies (the member is no longer held): the release goes on as for one person.
    Ungated,
    /// The request is recorded; a different principal must approve it.
    Pending(Request),
    /// Approved by a different principal: release now.
    Approved(Request),
}

/// Who asks: the actor (name, reason, time) and the person it is.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    /// Name, reason, time.
    pub actor: &'a Actor,
    /// Names and object id.
    pub person: &'a Person,
}

/// Since when the scope is held (`SetAt` or the member's `HeldAt`); `None`: not held, not gated.
async fn held_since(
    ports: &Ports,
    hold_id: &str,
    scope: &Scope,
) -> Result<Option<String>, HoldError> {
    let tables = ports.tables.as_ref();
    let row = match scope {
        Scope::Hold => get(tables, HOLDS_TABLE, "hold", &header_rk(hold_id))
            .await?
            .filter(|s| get_str(&s.entity, "Status") == Some("active"))
            .map(|s| (s.entity, "SetAt")),
        Scope::Recording(k) => get(
            tables,
            HOLDS_TABLE,
            &member_pk(hold_id),
            &k.id_key(MAX_KEY_BYTES),
        )
        .await?
        .filter(|s| s.entity.get("Active").and_then(Value::as_bool) != Some(false))
        .map(|s| (s.entity, "HeldAt")),
    };
    Ok(row.map(|(e, k)| get_str(&e, k).unwrap_or_default().to_owned()))
}

fn requester(e: &Entity) -> Person {
    let s = |k| get_str(e, k).unwrap_or_default();
    let names = std::iter::once(s("RequestedBy")).chain(s("RequestedByNames").split('\n'));
    Person::new(names, Some(s("RequestedByObjectId")))
}

/// Records (`Pending`), refuses (the requester again) or approves `asker`'s release of `scope`;
/// an approved row lets a retry finish the release.
///
/// # Errors
/// `Refused` when `asker` requested it (same person), `Storage`.
pub async fn decide(
    ports: &Ports,
    hold_id: &str,
    scope: &Scope,
    asker: Asker<'_>,
) -> Result<Decision, HoldError> {
    let Some(since) = held_since(ports, hold_id, scope).await? else {
        return Ok(Decision::Ungated);
    };
    let recording = match scope {
        Scope::Hold => String::new(),
        Scope::Recording(k) => k.id(),
    };
    let target = if recording.is_empty() {
        "*"
    } else {
        &recording
    };
    let rk = key(
        &format!("{hold_id}~{target}~{since}"),
        Spelling::Verbatim,
        MAX_KEY_BYTES,
    );
    let (who, at) = (&asker.actor.who, format_utc(asker.actor.at));
    let oid = asker.person.object_id.clone().unwrap_or_default();
    // This call's own mark: a write whose answer was lost is recognised by it on the re-read.
    let attempt = uuid::Uuid::new_v4().to_string();
    let mut refused: Option<String> = None;
    let stored = update(
        ports.tables.as_ref(),
        HOLDS_TABLE,
        RELEASE_PK,
        &rk,
        &mut |cur: Option<&Stored>| {
            refused = None;
            let Some(cur) = cur else {
                return Some(crate::retention::row(json!({
                    "HoldId": hold_id, "Recording": recording, "Status": "pending",
                    "RequestedBy": who, "RequestedByObjectId": oid,
                    "RequestedByNames": asker.person.names.join("\n"), "RequestedAt": at,
                    "RequestReason": asker.actor.why, "HeldSince": since, "Attempt": attempt,
                })));
            };
            let e = &cur.entity;
            if get_str(e, "Status") != Some("pending") {
                return None;
            }
            if get_str(e, "Attempt") == Some(attempt.as_str()) {
                return None;
            }
            if let Some(m) = requester(e).same_as(asker.person) {
                refused = Some(format!(
                    "the release of hold {hold_id} was requested by this principal (same {}) at {}; \
                     it takes effect when a different principal with the hold role releases it",
                    m.as_str(),
                    get_str(e, "RequestedAt").unwrap_or_default()
                ));
                return None;
            }
            let mut next = e.clone();
            for (k, v) in [
                ("Status", "approved"),
                ("ApprovedBy", who.as_str()),
                ("ApprovedByObjectId", oid.as_str()),
                ("ApprovedAt", at.as_str()),
                ("ApproveReason", asker.actor.why.as_str()),
                ("Attempt", attempt.as_str()),
            ] {
                next.insert(k.into(), v.into());
            }
            Some(next)
        },
    )
    .await?;
    if let Some(why) = refused {
        return Err(HoldError::Refused(why));
    }
    let Some(stored) = stored else {
        return Err(AzureError::Transient(format!("release request {rk}: unreadable")).into());
    };
    let request = Request {
        row_key: rk,
        entity: stored.entity,
    };
    Ok(match request.get("Status") {
        "pending" => Decision::Pending(request),
        _ => Decision::Approved(request),
    })
}

/// Copies requester and approver onto the hold's header or member row, before the release.
///
/// # Errors
/// Storage failures.
pub async fn stamp(ports: &Ports, scope: &Scope, request: &Request) -> Result<(), HoldError> {
    let hold_id = request.get("HoldId");
    let (pk, rk) = match scope {
        Scope::Hold => ("hold".to_owned(), header_rk(hold_id)),
        Scope::Recording(k) => (member_pk(hold_id), k.id_key(MAX_KEY_BYTES)),
    };
    let fields = [
        ("ReleaseRequestedBy", request.get("RequestedBy")),
        ("ReleaseRequestedAt", request.get("RequestedAt")),
        ("ReleaseApprovedBy", request.get("ApprovedBy")),
        ("ReleaseApprovedAt", request.get("ApprovedAt")),
    ];
    update(ports.tables.as_ref(), HOLDS_TABLE, &pk, &rk, &mut |cur| {
        let e = &cur?.entity;
        if fields.iter().all(|(k, v)| get_str(e, k) == Some(*v)) {
            return None;
        }
        let mut next = e.clone();
        for (k, v) in fields {
            next.insert(k.into(), v.into());
        }
        Some(next)
    })
    .await?;
    Ok(())
}

/// Marks the request released (at `at`), once.
///
/// # Errors
/// Storage failures.
pub async fn finish(ports: &Ports, request: &Request, at: &str) -> Result<(), HoldError> {
    update(
        ports.tables.as_ref(),
        HOLDS_TABLE,
        RELEASE_PK,
        &request.row_key,
        &mut |cur| {
            let e = &cur?.entity;
            if get_str(e, "Status") == Some("released") {
                return None;
            }
            let mut next = e.clone();
            next.insert("Status".into(), "released".into());
            next.insert("ReleasedAt".into(), at.into());
            Some(next)
        },
    )
    .await?;
    Ok(())
}

/// The release requests (every status) requested or approved in `[from, to)` (RFC 3339 texts).
///
/// # Errors
/// Storage failures (a missing table is none).
pub async fn requests(
    tables: &dyn TableStore,
    from: &str,
    to: &str,
) -> Result<Vec<Entity>, AzureError> {
    let rows = crate::tables::ops::query_all(
        tables,
        HOLDS_TABLE,
        &Filter::partition(RELEASE_PK),
        usize::MAX,
    )
    .await?;
    let within =
        |e: &Entity, k| get_str(e, k).is_some_and(|t| !t.is_empty() && t >= from && t < to);
    let mut out: Vec<Entity> = rows
        .into_iter()
        .map(|s| s.entity)
        .filter(|e| within(e, "RequestedAt") || within(e, "ApprovedAt"))
        .collect();
    out.sort_by(|a, b| get_str(a, "RequestedAt").cmp(&get_str(b, "RequestedAt")));
    Ok(out)
}
