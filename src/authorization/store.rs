//! Table `authzwindows`, its one writer: every piece of evidence ever seen (an instance leaves
//! Resource Manager's list when it expires, so what was seen is kept), one row each (PK the
//! subscription its scope lies in, `tenant` above every subscription; RK its id through the one
//! key encoder), with `FirstSeen` and `LastSeen`. A window is closed at its end; an instance gone
//! from a whole list before its end is closed when that list was read (`GoneAt`). Row
//! [`READ_ROW`] of a subscription holds when its schedules were last read (the pacing); a row of
//! partition [`MEMBERS_PARTITION`] a group's transitive members as last read, with its time.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use time::OffsetDateTime;

use super::decide::{APPROVAL_BEFORE, SKEW, subscription_of};
use super::evidence::{Evidence, Kind, Source};
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::graph::members::Member;
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, query_all, upsert_batched, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

/// The table.
pub const WINDOWS_TABLE: &str = "authzwindows";
/// A subscription's pacing row.
pub const READ_ROW: &str = "~read";
/// The partition of evidence above every subscription.
pub const TENANT: &str = "tenant";
/// Most rows one read loads.
pub const MAX_ROWS: usize = 200_000;
/// The partition of the groups' members as read ([`members_of`]).
pub const MEMBERS_PARTITION: &str = "~members";
/// Members a property of a members row holds (an id and a UPN of at most 113 characters each:
/// under the 32K characters, 64 KiB, a string property may hold).
const MEMBERS_A_PROPERTY: usize = 150;
/// Most properties a members row reads back.
const MEMBERS_PROPERTIES: usize = 64;
/// Most characters a members row's lists hold (in UTF-16, under the entity's 1 MiB).
const MEMBERS_CHARS: usize = 450_000;

/// The partition of `e`.
fn partition(e: &Evidence) -> String {
    match subscription_of(&e.scope) {
        s if !s.is_empty() => s,
        _ if !e.seen_under.is_empty() => e.seen_under.clone(),
        _ => TENANT.to_owned(),
    }
}

fn time(t: Option<OffsetDateTime>) -> String {
    t.map(format_utc_millis).unwrap_or_default()
}

/// `e`'s row, first seen at `first`, last seen at `now`.
fn to_entity(e: &Evidence, first: OffsetDateTime, now: OffsetDateTime) -> Entity {
    crate::tables::entity(json!({
        "PartitionKey": partition(e), "RowKey": key(&e.id, Spelling::Encoded, MAX_KEY_BYTES),
        "Id": e.id, "Source": e.source.map(Source::as_str).unwrap_or_default(),
        "Kind": e.kind.map(Kind::as_str).unwrap_or_default(), "Principal": e.principal,
        "Names": e.names.join("\n"), "GroupPrincipal": e.group_principal, "Group": e.group,
        "Scope": e.scope, "SeenUnder": e.seen_under, "Role": e.role, "Start": time(e.start),
        "End": time(e.end), "Approver": e.approver, "Justification": e.justification,
        "Ticket": e.ticket, "Schedule": e.schedule,
        "Ports": e.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(","), "FirstSeen": format_utc_millis(first),
        "LastSeen": format_utc_millis(now),
        "Closed": e.end.is_some_and(|end| end <= now),
    }))
}

/// The evidence of a row (`None` for a pacing row or one this version cannot read).
fn of_entity(row: &Entity) -> Option<Evidence> {
    let s = |n: &str| get_str(row, n).unwrap_or_default().to_owned();
    let id = s("Id");
    if id.is_empty() {
        return None;
    }
    let end = timestamp(&s("End"));
    let gone = timestamp(&s("GoneAt"));
    Some(Evidence {
        id,
        source: Source::parse(&s("Source")),
        kind: Some(Kind::parse(&s("Kind"))?),
        principal: s("Principal"),
        names: s("Names").lines().map(str::to_owned).collect(),
        group_principal: row.get("GroupPrincipal") == Some(&true.into()),
        group: s("Group"),
        scope: s("Scope"),
        seen_under: s("SeenUnder"),
        role: s("Role"),
        start: timestamp(&s("Start")),
        end: end.into_iter().chain(gone).min(),
        approver: s("Approver"),
        justification: s("Justification"),
        ticket: s("Ticket"),
        schedule: s("Schedule"),
        ports: s("Ports")
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect(),
    })
}

/// What is kept: each row's evidence, and the rows as stored (by id).
#[derive(Debug, Default)]
pub struct Kept {
    /// The evidence.
    pub evidence: Vec<Evidence>,
    /// The rows, by evidence id.
    pub rows: BTreeMap<String, Entity>,
}

/// `e` could cover a session started at `from` or later: its window (widened by the skew) ends
/// then or later, or has no end (open, permanent; an approval: given at most
/// [`APPROVAL_BEFORE`] before such a window).
pub fn may_cover(e: &Evidence, from: OffsetDateTime) -> bool {
    match (e.end, e.kind) {
        (Some(end), _) => end >= from - SKEW,
        (None, Some(Kind::Approval)) => e.start.is_none_or(|s| s >= from - SKEW - APPROVAL_BEFORE),
        (None, _) => true,
    }
}

/// The evidence kept that [`may_cover`] a session started at `from` or later (the rows of older
/// windows are not read): the filter on `End` (or `GoneAt` for a window without one) and `Start`.
///
/// # Errors
/// Table errors.
pub async fn load(tables: &dyn TableStore, from: OffsetDateTime) -> Result<Kept, AzureError> {
    let at = |t: OffsetDateTime| format_utc_millis(t);
    let (ends, given) = (at(from - SKEW), at(from - SKEW - APPROVAL_BEFORE));
    let endless = Filter::And(vec![
        Filter::str("End", Op::Eq, ""),
        Filter::Or(vec![
            Filter::bool("Closed", false),
            Filter::str("GoneAt", Op::Ge, ends.clone()),
        ]),
        Filter::Or(vec![
            Filter::str("Kind", Op::Ne, Kind::Approval.as_str()),
            Filter::str("Start", Op::Ge, given),
        ]),
    ]);
    let wanted = Filter::And(vec![
        Filter::str("RowKey", Op::Ne, READ_ROW),
        Filter::Or(vec![Filter::str("End", Op::Ge, ends), endless]),
    ]);
    let rows = query_all(tables, WINDOWS_TABLE, &wanted, MAX_ROWS).await?;
    let mut kept = Kept::default();
    for r in rows {
        if let Some(e) = of_entity(&r.entity) {
            kept.rows.insert(e.id.clone(), r.entity);
            kept.evidence.push(e);
        }
    }
    Ok(kept)
}

/// Keeps `seen` (read at `now`): new rows first seen now, known ones last seen now (their first
/// sight, and a `GoneAt`, kept).
///
/// # Errors
/// Table errors.
pub async fn keep(
    tables: &dyn TableStore,
    kept: &Kept,
    seen: &[Evidence],
    now: OffsetDateTime,
) -> Result<(), AzureError> {
    let mut by_partition: BTreeMap<String, Vec<Entity>> = BTreeMap::new();
    for e in seen {
        let old = kept.rows.get(&e.id);
        let first = old
            .and_then(|r| get_str(r, "FirstSeen"))
            .and_then(timestamp)
            .unwrap_or(now);
        let mut row = to_entity(e, first, now);
        if let Some(gone) = old.and_then(|r| r.get("GoneAt")) {
            row.insert("GoneAt".into(), gone.clone());
            row.insert("Closed".into(), true.into());
        }
        by_partition.entry(partition(e)).or_default().push(row);
    }
    for rows in by_partition.values() {
        upsert_batched(tables, WINDOWS_TABLE, rows).await?;
    }
    Ok(())
}

/// Closes, at `now`, the open instances of `source` in the list `under` (a subscription's, or a
/// group's) that a whole read of it no longer shows (`listed`): deactivated or expired since
/// their last sight.
///
/// # Errors
/// Table errors.
pub async fn close_gone(
    tables: &dyn TableStore,
    kept: &Kept,
    (source, under): (Source, &str),
    listed: &BTreeSet<String>,
    now: OffsetDateTime,
) -> Result<usize, AzureError> {
    let mut closed = 0;
    for e in kept.evidence.iter().filter(|e| {
        e.source == Some(source)
            && e.seen_under == under
            && !listed.contains(&e.id)
            && e.end.is_none_or(|end| end > now)
    }) {
        let Some(mut row) = kept.rows.get(&e.id).cloned() else {
            continue;
        };
        row.insert("GoneAt".into(), format_utc_millis(now).into());
        row.insert("Closed".into(), true.into());
        write_creating_table(tables, WINDOWS_TABLE, &row, WriteMode::Upsert).await?;
        closed += 1;
    }
    Ok(closed)
}

/// When `subscription`'s schedules were last read.
///
/// # Errors
/// Table errors.
pub async fn read_at(
    tables: &dyn TableStore,
    subscription: &str,
) -> Result<Option<OffsetDateTime>, AzureError> {
    let row = get(tables, WINDOWS_TABLE, subscription, READ_ROW).await?;
    Ok(row.and_then(|r| get_str(&r.entity, "ReadAt").and_then(timestamp)))
}

/// Records that `subscription`'s schedules were read at `now`.
///
/// # Errors
/// Table errors.
pub async fn mark_read(
    tables: &dyn TableStore,
    subscription: &str,
    now: OffsetDateTime,
) -> Result<(), AzureError> {
    let row = crate::tables::entity(json!({
        "PartitionKey": subscription, "RowKey": READ_ROW, "ReadAt": format_utc_millis(now),
    }));
    write_creating_table(tables, WINDOWS_TABLE, &row, WriteMode::Upsert).await?;
    Ok(())
}

/// `group`'s members as last kept, with when they were read (`None`: never kept).
///
/// # Errors
/// Table errors.
pub async fn members_of(
    tables: &dyn TableStore,
    group: &str,
) -> Result<Option<(OffsetDateTime, Vec<Member>)>, AzureError> {
    let rk = key(group, Spelling::Encoded, MAX_KEY_BYTES);
    let Some(row) = get(tables, WINDOWS_TABLE, MEMBERS_PARTITION, &rk).await? else {
        return Ok(None);
    };
    let Some(at) = get_str(&row.entity, "ReadAt").and_then(timestamp) else {
        return Ok(None);
    };
    let mut all = Vec::new();
    for n in 0..MEMBERS_PROPERTIES {
        let Some(text) = get_str(&row.entity, &format!("Members{n}")) else {
            break;
        };
        let part: Vec<(String, Option<String>)> = serde_json::from_str(text)
            .map_err(|e| AzureError::Permanent(format!("members of {group}: {e}")))?;
        all.extend(part.into_iter().map(|(id, upn)| Member {
            id,
            user_principal_name: upn,
        }));
    }
    Ok(Some((at, all)))
}

/// Keeps `members` of `group` as read at `now` (a group whose members a row cannot hold is not
/// kept: read again each check).
///
/// # Errors
/// Table errors.
pub async fn keep_members(
    tables: &dyn TableStore,
    group: &str,
    members: &[Member],
    now: OffsetDateTime,
) -> Result<(), AzureError> {
    let mut row = crate::tables::entity(json!({
        "PartitionKey": MEMBERS_PARTITION, "RowKey": key(group, Spelling::Encoded, MAX_KEY_BYTES),
        "Group": group, "ReadAt": format_utc_millis(now), "Count": members.len(),
    }));
    for (n, part) in members.chunks(MEMBERS_A_PROPERTY).enumerate() {
        let pairs: Vec<(&str, Option<&str>)> = (part.iter())
            .map(|m| (m.id.as_str(), m.user_principal_name.as_deref()))
            .collect();
        row.insert(format!("Members{n}"), json!(pairs).to_string().into());
    }
    let chars: usize = (row.values())
        .filter_map(|v| v.as_str())
        .map(str::len)
        .sum();
    if chars > MEMBERS_CHARS || members.len() > MEMBERS_A_PROPERTY * MEMBERS_PROPERTIES {
        return Ok(());
    }
    write_creating_table(tables, WINDOWS_TABLE, &row, WriteMode::Upsert).await?;
    Ok(())
}

/// The partition of the role definitions as last listed, a row per subscription
/// ([`definitions`]).
pub const ROLES_PARTITION: &str = "~roles";
/// Roles a property of a definitions row holds (a GUID and its grants: under 20,000 characters).
const ROLES_A_PROPERTY: usize = 400;

/// `subscription`'s role definitions as last kept (`None`: never kept).
///
/// # Errors
/// Table errors.
pub async fn definitions(
    tables: &dyn TableStore,
    subscription: &str,
) -> Result<Option<super::roles::Definitions>, AzureError> {
    let Some(row) = get(tables, WINDOWS_TABLE, ROLES_PARTITION, subscription).await? else {
        return Ok(None);
    };
    let e = &row.entity;
    let mut grants = BTreeMap::new();
    for n in 0.. {
        let Some(text) = get_str(e, &format!("Roles{n}")) else {
            break;
        };
        let map: BTreeMap<String, String> = serde_json::from_str(text).unwrap_or_default();
        grants.extend(
            map.into_iter()
                .map(|(g, t)| (g, super::roles::Grants::parse(&t))),
        );
    }
    let failed = get_str(e, "FailedAt")
        .and_then(timestamp)
        .map(|at| (at, get_str(e, "Failed").unwrap_or_default().to_owned()));
    // A row kept before the versions were written holds version 1's grants.
    let version = crate::tables::get_i64(e, "Version").map_or(1, |v| u32::try_from(v).unwrap_or(0));
    Ok(Some(super::roles::Definitions {
        grants,
        read_at: get_str(e, "ReadAt").and_then(timestamp),
        failed,
        version,
    }))
}

/// Keeps `defs` as `subscription`'s role definitions (replacing the row).
///
/// # Errors
/// Table errors.
pub async fn keep_definitions(
    tables: &dyn TableStore,
    subscription: &str,
    defs: &super::roles::Definitions,
) -> Result<(), AzureError> {
    let mut row = crate::tables::entity(json!({
        "PartitionKey": ROLES_PARTITION, "RowKey": subscription,
        "ReadAt": time(defs.read_at), "Version": defs.version,
    }));
    if let Some((at, why)) = &defs.failed {
        row.insert("FailedAt".into(), format_utc_millis(*at).into());
        row.insert("Failed".into(), why.clone().into());
    }
    let all: Vec<(&String, String)> = (defs.grants.iter())
        .map(|(g, v)| (g, v.as_text()))
        .collect();
    for (n, part) in all.chunks(ROLES_A_PROPERTY).enumerate() {
        let map: BTreeMap<&String, &String> = part.iter().map(|(g, t)| (*g, t)).collect();
        row.insert(format!("Roles{n}"), json!(map).to_string().into());
    }
    write_creating_table(tables, WINDOWS_TABLE, &row, WriteMode::Upsert).await?;
    Ok(())
}
