//! Table `holds`: hold headers (who/why/when, scope, status) and one member row per held
//! recording with its pre-hold retention.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::catalogue::policy::Retention;
use crate::catalogue::recording::RecordingKey;
use crate::dates::format_utc;
use crate::ports::{Ports, RequestError};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{Change, Once, get, insert_once, update, write_creating_table};
use crate::tables::{Entity, Stored, TableStore, WriteMode, get_str};

/// Table of holds, hold members and the policy shortenings the sweep records.
pub const HOLDS_TABLE: &str = "holds";
const HEADER_PK: &str = "hold";

/// Who acts, why, and when: required for every hold and release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person or principal (stored in tables only).
    pub who: String,
    /// Free-text reason, e.g. a case number (stored in tables only, never in tags).
    pub why: String,
    /// When.
    pub at: OffsetDateTime,
}

impl Actor {
    pub(crate) fn validate(&self) -> Result<(), RequestError> {
        if self.who.trim().is_empty() || self.why.trim().is_empty() {
            return Err(RequestError::Invalid("who and why are required".into()));
        }
        if self.who.len() > 256 || self.why.len() > 4096 {
            return Err(RequestError::Invalid("who or why too long".into()));
        }
        Ok(())
    }
}

/// Hold ids are table keys and list items: 1–64 of `A-Z a-z 0-9 - _ .`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// [`is_valid_id`], or `Invalid` naming the rule.
pub(crate) fn validate_id(id: &str) -> Result<(), RequestError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(RequestError::Invalid(format!(
            "hold id must be 1-64 of A-Z a-z 0-9 - _ . : {id:?}"
        )))
    }
}

/// Writes the hold's header once (first who/why/when kept); a released hold is re-activated.
pub(crate) async fn write_header(
    ports: &Ports,
    id: &str,
    scope: &str,
    selector: &Value,
    actor: &Actor,
) -> Result<(), RequestError> {
    let e = crate::tables::entity(
        json!({"PartitionKey": HEADER_PK, "RowKey": header_rk(id), "Scope": scope, "Selector": selector.to_string(),
        "SetBy": actor.who, "Reason": actor.why, "SetAt": format_utc(actor.at), "Status": "active"}),
    );
    let tables = ports.tables.as_ref();
    if let Some(old) = insert(tables, &e).await?
        && get_str(&old, "Status") == Some("released")
    {
        upsert(tables, &e).await?;
    }
    Ok(())
}

/// Marks the header released.
pub(crate) async fn release_header(
    ports: &Ports,
    id: &str,
    actor: &Actor,
) -> Result<(), RequestError> {
    let Some(Stored { mut entity, etag }) = header_row(ports.tables.as_ref(), id).await? else {
        return Err(RequestError::NotFound(format!("hold {id}")));
    };
    entity.insert("Status".into(), Value::String("released".into()));
    write_released(ports, entity, etag, actor).await
}

/// Stamps `entity` released by `actor`, unless it changed since read (a concurrent release won).
async fn write_released(
    ports: &Ports,
    mut entity: Entity,
    etag: String,
    actor: &Actor,
) -> Result<(), RequestError> {
    for (k, v) in [
        ("ReleasedBy", actor.who.clone()),
        ("ReleaseReason", actor.why.clone()),
        ("ReleasedAt", format_utc(actor.at)),
    ] {
        entity.insert(k.into(), Value::String(v));
    }
    Ok(replace(ports.tables.as_ref(), &entity, etag).await?)
}

/// Inserts `row`; the row already stored under its keys when there was one.
pub(crate) async fn insert(
    tables: &dyn TableStore,
    row: &Entity,
) -> Result<Option<Entity>, AzureError> {
    if let Once::Inserted(_) = insert_once(tables, HOLDS_TABLE, row).await? {
        return Ok(None);
    }
    let key = |k| get_str(row, k).unwrap_or_default();
    let old = get(tables, HOLDS_TABLE, key("PartitionKey"), key("RowKey")).await?;
    Ok(old.map(|s| s.entity))
}

/// Upserts `row` (a retry writes the same row).
pub(crate) async fn upsert(tables: &dyn TableStore, row: &Entity) -> Result<(), AzureError> {
    write_creating_table(tables, HOLDS_TABLE, row, WriteMode::Upsert)
        .await
        .map(drop)
}

/// Writes `row` read at `etag`, unless it changed or went since (another writer came first).
pub(crate) async fn replace(
    tables: &dyn TableStore,
    row: &Entity,
    etag: String,
) -> Result<(), AzureError> {
    crate::tables::ops::write_unless_changed(tables, HOLDS_TABLE, row, etag).await
}

/// Rewrites row `(pk, rk)` through `change` (conditional; asked again when another writer came
/// first). Returns the row now stored.
pub(crate) async fn change(
    tables: &dyn TableStore,
    pk: &str,
    rk: &str,
    change: &mut Change<'_>,
) -> Result<Option<Stored>, AzureError> {
    update(tables, HOLDS_TABLE, pk, rk, change).await
}

/// Sets `fields` on row `(pk, rk)` unless `done` holds of it (an absent row stays absent).
pub(crate) async fn set(
    tables: &dyn TableStore,
    (pk, rk): (&str, &str),
    fields: &[(&str, &str)],
    done: &(dyn Fn(&Entity) -> bool + Sync),
) -> Result<(), AzureError> {
    let mut f = |cur: Option<&Stored>| {
        let mut next = cur.map(|c| c.entity.clone()).filter(|e| !done(e))?;
        for (k, v) in fields {
            next.insert((*k).into(), (*v).into());
        }
        Some(next)
    };
    change(tables, pk, rk, &mut f).await.map(drop)
}

/// The member partition of a hold.
pub(crate) fn member_pk(id: &str) -> String {
    ["m~", &key(id, Spelling::Verbatim, MAX_KEY_BYTES - 2)].concat()
}

/// The header row key of a hold: its id (checked by [`validate_id`]) through the one encoder.
pub(crate) fn header_rk(id: &str) -> String {
    key(id, Spelling::Verbatim, MAX_KEY_BYTES)
}

/// Records one member with its pre-hold retention.
pub(crate) async fn write_member(
    ports: &Ports,
    id: &str,
    key: &RecordingKey,
    original: Option<&Retention>,
    actor: &Actor,
) -> Result<(), RequestError> {
    let e = crate::tables::entity(
        json!({"PartitionKey": member_pk(id), "RowKey": key.id_key(MAX_KEY_BYTES),
        "RecordingId": key.id(), "HoldId": id, "Active": true,
        "HeldBy": actor.who, "Reason": actor.why, "HeldAt": format_utc(actor.at),
        "OriginalClass": original.map(|r| r.class.clone()).unwrap_or_default(),
        "OriginalUntil": original.map(|r| r.until.clone()).unwrap_or_default()}),
    );
    Ok(upsert(ports.tables.as_ref(), &e).await?)
}

pub(crate) async fn read_member(
    ports: &Ports,
    id: &str,
    key: &RecordingKey,
) -> Result<Option<Stored>, RequestError> {
    let rk = key.id_key(MAX_KEY_BYTES);
    Ok(get(ports.tables.as_ref(), HOLDS_TABLE, &member_pk(id), &rk).await?)
}

/// Marks a member released (idempotent).
pub(crate) async fn close_member(
    ports: &Ports,
    member: Stored,
    actor: &Actor,
) -> Result<(), RequestError> {
    if member.entity.get("Active").and_then(Value::as_bool) == Some(false) {
        return Ok(());
    }
    let mut e = member.entity;
    e.insert("Active".into(), Value::Bool(false));
    write_released(ports, e, member.etag, actor).await
}

pub(crate) fn member_original(e: &Entity) -> Option<Retention> {
    let class = get_str(e, "OriginalClass").filter(|s| !s.is_empty())?;
    let until = get_str(e, "OriginalUntil").filter(|s| !s.is_empty())?;
    Some(Retention {
        class: class.into(),
        until: until.into(),
    })
}

/// The header of hold `id` (absent table = absent hold).
///
/// # Errors
/// Table errors.
pub async fn header(ports: &Ports, id: &str) -> Result<Option<Entity>, AzureError> {
    Ok(header_row(ports.tables.as_ref(), id)
        .await?
        .map(|s| s.entity))
}

/// The header row of hold `id`, with its ETag (absent table = absent hold).
async fn header_row(tables: &dyn TableStore, id: &str) -> Result<Option<Stored>, AzureError> {
    get(tables, HOLDS_TABLE, HEADER_PK, &header_rk(id)).await
}

/// Up to `max` active hold headers, and whether there are more.
///
/// # Errors
/// Table errors.
pub async fn active(ports: &Ports, max: u32) -> Result<(Vec<Entity>, bool), AzureError> {
    let filter = crate::tables::Filter::And(vec![
        crate::tables::Filter::partition(HEADER_PK),
        crate::tables::Filter::str("Status", crate::tables::filter::Op::Eq, "active"),
    ]);
    let page = crate::tables::ops::page(&*ports.tables, HOLDS_TABLE, &filter, max, None).await?;
    let more = page.next.is_some();
    Ok((page.items.into_iter().map(|s| s.entity).collect(), more))
}

/// The headers of the holds a catalogue row names (`HoldIds`), skipping any since removed.
///
/// # Errors
/// Table errors.
pub async fn of_row(
    ports: &Ports,
    row: &crate::catalogue::recording::Recording,
) -> Result<Vec<Entity>, AzureError> {
    let mut items = Vec::new();
    for hold in &row.hold.ids {
        if let Some(h) = header(ports, hold).await? {
            items.push(h);
        }
    }
    Ok(items)
}
