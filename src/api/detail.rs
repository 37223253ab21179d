//! `GET /api/recordings/{id}`: the row, its joined session, holds, tombstone, a portal link, an
//! optional short-lived read link ([`super::links`]); and the access-audit row every detail read
//! writes before answering (no audit row, no answer: fail closed), recording any link issued.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::links::Link;
use super::problem::ApiError;
use super::render::json_row;
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::recording::RecordingKey;
use crate::catalogue::session::SESSIONS_TABLE;
use crate::dates::format_date;
use crate::dates::format_utc_millis;
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::state::AppState;
use crate::storage::BlobRef;
use crate::tables::ops::write_creating_table;
use crate::tables::{
    Entity, TableError, TableStore, WriteMode, get_list, get_str, strip_annotations,
};

/// Table of access-audit rows: `PartitionKey` = access day, `RowKey` = time + random suffix.
pub const ACCESS_AUDIT_TABLE: &str = "accessaudit";

/// Who read what, when, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Principal name.
    pub who: String,
    /// Client address.
    pub ip: String,
    /// `User-Agent`.
    pub agent: String,
}

/// Writes one access-audit row, with the read link's issuance when one was asked for (`Link`:
/// "issued until …" or "unavailable: …").
///
/// # Errors
/// Table errors.
pub async fn audit(
    tables: &dyn TableStore,
    access: &Access,
    action: &str,
    target: &str,
    outcome: &str,
    now: OffsetDateTime,
    link: Option<&Link>,
) -> Result<(), TableError> {
    let at = format_utc_millis(now);
    let mut e = json!({
        "PartitionKey": format_date(now.date()),
        "RowKey": format!("{at}-{}", uuid::Uuid::new_v4().simple()),
        "Who": access.who, "Action": action, "Target": target, "Outcome": outcome,
        "At": at, "ClientIp": access.ip, "UserAgent": access.agent,
    });
    if let Some(l) = link {
        e["Link"] = Value::String(l.audit_text());
    }
    let Value::Object(e) = e else { return Ok(()) };
    match write_creating_table(tables, ACCESS_AUDIT_TABLE, &e, WriteMode::Insert).await {
        // The key ends in a fresh UUID: a 409 is the client's retry meeting the row its first
        // attempt stored (the answer lost), so the access is recorded.
        Ok(_) | Err(TableError::Conflict) => Ok(()),
        Err(e) => Err(e),
    }
}

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
    let row = point(tables, RECORDINGS_TABLE, &key.pk, &key.rk).await?;
    let tombstone = point(tables, DELETIONS_TABLE, &key.pk, &key.rk).await?;
    let outcome = if row.is_some() || tombstone.is_some() {
        "found"
    } else {
        "not-found"
    };
    let now = state.ports.clock.now();
    let issued = match (link, &row) {
        (None, _) => None,
        (Some(_), None) => Some(Link::Unavailable(
            "the recording is not stored any more".into(),
        )),
        (Some(_), Some(r)) if get_str(r, "Status") == Some("deleted") => Some(Link::Unavailable(
            "the recording is not stored any more".into(),
        )),
        (Some(life), Some(r)) => match (get_str(r, "Container"), get_str(r, "BlobName")) {
            (Some(c), Some(b)) => {
                // Rows written before several sources existed name no account: the default's.
                let default = state.ports.sources.default_recordings().account();
                let account = get_str(r, "Account")
                    .filter(|a| !a.is_empty())
                    .unwrap_or(default);
                let issuer = state.links.issuer(account);
                Some(issuer.issue(&BlobRef::new(c, b), now, life).await)
            }
            _ => Some(Link::Unavailable("the catalogue row names no blob".into())),
        },
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
    let raw = row.unwrap_or_default();
    let session = match get_str(&raw, "TunnelId").filter(|t| !t.is_empty()) {
        Some(t) => {
            let pk = crate::audit_logs::sessions::tunnel_key(t);
            point(tables, SESSIONS_TABLE, &pk, "session").await?
        }
        None => None,
    };
    let mut holds = Vec::new();
    for hold in get_list(&raw, "HoldIds") {
        if let Some(h) = point(tables, HOLDS_TABLE, "hold", hold).await? {
            holds.push(Value::Object(h));
        }
    }
    let bastion = session
        .as_ref()
        .and_then(|s| get_str(s, "BastionHost"))
        .or_else(|| get_str(&raw, "BastionHost"))
        .map(str::to_owned);
    let mut doc = json!({
        "id": id,
        "recording": (!raw.is_empty()).then(|| json_row(&raw)),
        "row": (!raw.is_empty()).then(|| Value::Object(raw.clone())),
        "session": session.map(Value::Object),
        "holds": holds,
        "tombstone": tombstone.map(Value::Object),
        "portalLink": portal_link(bastion.as_deref()),
    });
    if let Some(l) = issued {
        doc["download"] = l.to_json();
    }
    let subject = crate::reviews::Subject {
        kind: crate::reviews::Kind::Recording,
        id: id.to_owned(),
    };
    doc["review"] = crate::reviews::latest(tables, &key.pk, &subject)
        .await?
        .map_or(Value::Null, |r| r.to_json());
    Ok(doc)
}

/// The Bastion host's *Session recordings* page when its resource id is known, else the Bastion list.
pub fn portal_link(bastion_host: Option<&str>) -> String {
    bastion_host
        .and_then(crate::arm::portal_recordings_link)
        .unwrap_or_else(|| {
            "https://portal.azure.com/#browse/Microsoft.Network%2FbastionHosts".into()
        })
}

async fn point(
    tables: &dyn TableStore,
    table: &str,
    pk: &str,
    rk: &str,
) -> Result<Option<Entity>, ApiError> {
    match tables.get(table, pk, rk).await {
        Ok(Some(mut s)) => {
            strip_annotations(&mut s.entity);
            Ok(Some(s.entity))
        }
        Ok(None) | Err(TableError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
