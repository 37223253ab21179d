//! `GET /api/recordings/{id}`: the row, its joined session, holds, tombstone, its latest integrity
//! verification, the most specific portal link known, an optional short-lived read link ([`crate::storage::links`]), the actor of a deletion or replacement outside
//! the product and the custody trail from `StorageBlobLogs` ([`crate::custody::trail`]); and the access-audit row every detail read
//! writes before answering (no audit row, no answer: fail closed), recording any link issued.

use serde_json::{Value, json};
use time::Duration;

use super::problem::ApiError;
use crate::catalogue::access::{Access, audit};
use crate::catalogue::query::shape::Shape as _;
use crate::catalogue::recording::{Recording, RecordingKey, STATUS_DELETED};
use crate::catalogue::repo;
use crate::catalogue::row_source::RowSource;
use crate::catalogue::session::{self, SessionRecord};
use crate::integrity::checks::CHECKS_TABLE;
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::sources::Sources;
use crate::state::AppState;
use crate::storage::BlobRef;
use crate::storage::links::Link;
use crate::tables::{Entity, TableStore, strip_annotations};

/// The detail document of recording `id`, plus, when `link` is a lifetime, a `download` member:
/// a read link or the reason there is none (the issuance is recorded in the audit row).
///
/// # Errors
/// 400 for a malformed id, 404 when neither row nor tombstone exist, 503 on storage failures
/// (including a failed audit write).
pub async fn detail(
    state: &AppState,
    id: &str,
    access: &Access,
    link: Option<Duration>,
) -> Result<Value, ApiError> {
    let key = RecordingKey::parse(id).ok_or_else(|| ApiError::bad("id", "not a recording id"))?;
    let tables = state.ports.tables.as_ref();
    let row = repo::recording_row(tables, &key).await?;
    let tombstone = point(tables, DELETIONS_TABLE, &key.pk, &key.rk).await?;
    let outcome = if row.is_some() || tombstone.is_some() {
        "found"
    } else {
        "not-found"
    };
    let now = state.ports.clock.now();
    let typed = row.as_ref().and_then(Recording::from_entity);
    let gone = || Link::Unavailable("the recording is not stored any more".into());
    let issued = match (link, &typed) {
        (None, _) => None,
        (Some(_), Some(r)) if r.status == STATUS_DELETED => Some(gone()),
        (Some(life), Some(r)) => {
            let issuer = state.links.issuer(&r.account);
            let blob = BlobRef::new(&r.container, &r.blob_name);
            Some(issuer.issue(&blob, now, life).await)
        }
        (Some(_), None) if row.is_some() => {
            Some(Link::Unavailable("the catalogue row names no blob".into()))
        }
        (Some(_), None) => Some(gone()),
    };
    let issued = issued.filter(|_| outcome == "found");
    audit(
        tables,
        access,
        "recording.read",
        id,
        outcome,
        now,
        issued.as_ref(),
    )
    .await?;
    if outcome == "not-found" {
        return Err(ApiError::NotFound(format!("recording {id}")));
    }
    let joined = typed.as_ref().and_then(Recording::session);
    let session = match joined {
        Some(s) => session::row(tables, &s.tunnel_id).await?,
        None => None,
    };
    let mut holds = Vec::new();
    for hold in typed.iter().flat_map(|r| &r.hold.ids) {
        if let Some(h) = point(tables, HOLDS_TABLE, "hold", hold).await? {
            holds.push(Value::Object(h));
        }
    }
    let bastion = session
        .as_ref()
        .and_then(SessionRecord::from_entity)
        .map(|s| s.bastion_host)
        .or_else(|| joined.map(|s| s.bastion_host.clone()));
    let mut doc = json!({
        "id": id,
        "recording": typed.as_ref().map(|r| r.json(None)),
        "row": row.map(Value::Object),
        "session": session.map(Value::Object),
        "holds": holds,
        "tombstone": tombstone.map(Value::Object),
    });
    // A recording joined to no session (or only suspectly) falls back to its own source's host.
    let own = typed
        .as_ref()
        .and_then(|r| state.ports.sources.of_row(r))
        .and_then(|s| s.bastion_id.as_deref());
    let (link, scope) = portal_link(&state.ports.sources, bastion.as_deref(), own);
    doc["portalLink"] = Value::String(link);
    doc["portalLinkScope"] = Value::String(scope.into());
    doc["integrity"] =
        point(tables, CHECKS_TABLE, &key.pk, &key.rk)
            .await?
            .map_or(Value::Null, |c| {
                let s = |k: &str| c.get(k).cloned().unwrap_or(Value::Null);
                json!({"verifiedAt": s("VerifiedAt"), "result": s("Result"), "run": s("Run")})
            });
    if let Some(l) = issued {
        doc["download"] = l.to_json();
    }
    if let Some(r) = &typed {
        doc["actor"] = r.actor.as_ref().map_or(Value::Null, |a| a.json());
        doc["custody"] = custody_trail(state, r, now).await;
    }
    let subject = crate::reviews::Subject::new(crate::reviews::Kind::Recording, id);
    doc["review"] = crate::reviews::latest(tables, &key.pk, &subject)
        .await?
        .map_or(Value::Null, |r| r.json(None));
    Ok(doc)
}

/// The recording's custody trail from the custody workspace (`null` when none is configured); a
/// failed query is reported inside it, the detail still answers.
async fn custody_trail(state: &AppState, row: &Recording, now: time::OffsetDateTime) -> Value {
    let (Some(workspace), Some(logs)) = (
        state.config.custody.workspace.as_deref(),
        state.logs.as_deref(),
    ) else {
        return Value::Null;
    };
    let found = crate::custody::trail::read(logs, workspace, row, now).await;
    crate::custody::trail::json(workspace, crate::custody::trail::span_of(row, now), &found)
}

/// The most specific portal page known, and what it is: the Bastion host's *Session recordings*
/// page (`session-recordings`) when its resource id is known — the session names the host by id,
/// or a recording or audit-log source names it by id in the settings; else the recording's own
/// source's host (`own`: its resource id in `RECORDINGS_SOURCES`) — else the portal's list of
/// Bastion hosts (`bastion-list`).
pub fn portal_link(
    sources: &Sources,
    bastion_host: Option<&str>,
    own: Option<&str>,
) -> (String, &'static str) {
    let id = bastion_host
        .and_then(|h| {
            crate::arm::portal_recordings_link(h).or_else(|| {
                sources
                    .bastion_id(h)
                    .and_then(crate::arm::portal_recordings_link)
            })
        })
        .or_else(|| own.and_then(crate::arm::portal_recordings_link));
    match id {
        Some(link) => (link, "session-recordings"),
        None => (
            "https://portal.azure.com/#browse/Microsoft.Network%2FbastionHosts".into(),
            "bastion-list",
        ),
    }
}

async fn point(
    tables: &dyn TableStore,
    table: &str,
    pk: &str,
    rk: &str,
) -> Result<Option<Entity>, ApiError> {
    let row = crate::tables::ops::get(tables, table, pk, rk).await?;
    Ok(row.map(|mut s| {
        strip_annotations(&mut s.entity);
        s.entity
    }))
}
