//! Table `estate`: one row per host and finding code, an *episode* from `OpenedAt` to
//! `ResolvedAt`, opened and cleared ETag-conditionally so exactly one instance announces it. Only
//! an episode at `medium` or above is announced (`estate.finding`, then its `estate.resolved`):
//! `Announced` says whether it was, so an `info` episode that rises to `medium` is announced
//! then, once, and one never announced clears in silence (a row written before the flag
//! existed was announced). A new episode over a resolved one keeps that one on the row
//! ([`history`]). Each check then records in the Sentinel outbox every episode whose state has
//! no `BastionFindings_CL` row yet ([`record_changes`]; the row is [`sentinel::episode_row`]), then
//! marks it `Exported`, so a row not recorded is recorded by the next check.

pub mod history;
pub mod moved;
pub mod nics;
pub mod past;
pub mod subnets;
pub mod table;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::findings::{Evaluation, Finding, Level};
use super::rows::{host_key, mark};
use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::export::Outbox;
use crate::spine::kinds::{self, ESTATE_RESOLVED};
use crate::spine::reasons::OPEN_ESTATE_FINDING;
use crate::spine::{self, Severity, sentinel};
use crate::tables::filter::Op;
use crate::tables::ops::{insert_once, query_all, update_from, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_record, get_str};

pub use self::table::ESTATE_TABLE;
use self::table::{ASSESSED, CHECKED, MAX_ROWS, episode};

/// One stored finding, as the API shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(
    default,
    rename_all(serialize = "camelCase", deserialize = "PascalCase")
)]
pub struct Row {
    /// Host resource id.
    pub host: String,
    /// Host name.
    pub host_name: String,
    /// Finding code.
    #[serde(rename(deserialize = "RowKey"))]
    pub finding: String,
    /// `high`, `medium`, `info`.
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    /// When this episode opened (first seen).
    #[serde(rename(deserialize = "OpenedAt"))]
    pub first_seen: String,
    /// When a check last saw it.
    pub last_seen: String,
    /// When it cleared.
    #[serde(skip_deserializing)]
    pub resolved_at: Option<String>,
    /// What was seen.
    pub evidence: String,
    /// The finding's earlier episodes on this host, oldest first ([`history`]).
    #[serde(skip)]
    pub earlier: Vec<history::Earlier>,
}

impl Row {
    fn of(e: &Entity) -> Self {
        Self {
            resolved_at: get_str(e, "ResolvedAt").map(str::to_owned),
            earlier: history::of(e),
            ..get_record(e)
        }
    }

    /// True while open with severity `high`.
    pub fn is_open_high(&self) -> bool {
        self.status == "open" && self.severity == Level::High.as_str()
    }
}

/// What table `estate` holds: the findings and when each host was last checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Estate {
    /// Every finding (open and resolved), hosts in key order.
    pub rows: Vec<Row>,
    /// `(host id, last checked)`.
    pub checked: Vec<(String, String)>,
    /// The codes the last check of each host decided (lower-case host id; a marker written
    /// before they were kept decided none).
    pub assessed: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// Everything in table `estate`.
///
/// # Errors
/// Table errors.
pub async fn list(tables: &dyn TableStore) -> Result<Estate, AzureError> {
    let all = Filter::str("PartitionKey", crate::tables::filter::Op::Ge, "");
    let mut out = Estate::default();
    for s in query_all(tables, ESTATE_TABLE, &all, MAX_ROWS).await? {
        let e = &s.entity;
        if get_str(e, "RowKey") == Some(CHECKED) {
            let text = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
            out.checked.push((text("Host"), text("CheckedAt")));
            let codes = crate::tables::get_list(e, ASSESSED).map(str::to_owned);
            out.assessed
                .insert(text("Host").to_ascii_lowercase(), codes.collect());
        } else if !get_str(e, "RowKey").is_some_and(|rk| rk.starts_with('~')) {
            // Not a row of its own kind (`~nics`, `~moved`): a finding.
            out.rows.push(Row::of(e));
        }
    }
    Ok(out)
}

/// The Bastion hosts (names, lower-case) with an open finding above `info` whose code declares the
/// review reason `open-estate-finding` (their sessions rank higher); a VM's or subscription's rows
/// (the other doors) are not a host's.
///
/// # Errors
/// Table errors.
pub async fn flagged_hosts(
    tables: &dyn TableStore,
) -> Result<std::collections::BTreeSet<String>, AzureError> {
    Ok(list(tables)
        .await?
        .rows
        .into_iter()
        .filter(|r| r.status == "open" && r.severity != Level::Info.as_str())
        .filter(|r| kinds::estate_code(&r.finding).review == Some(OPEN_ESTATE_FINDING))
        .filter(|r| crate::arm::is_bastion_id(&r.host))
        .map(|r| r.host_name.to_ascii_lowercase())
        .collect())
}

/// Records one host's evaluation and check time, with the ids of its Bastion subnets (lower-case)
/// when the check read a Bastion host: kept on its marker for the other doors' pass
/// ([`subnets`]). Returns the notifications of the episodes it opened or cleared.
///
/// # Errors
/// Table errors (what was written before stays written; the next check carries on).
pub async fn apply_host(
    tables: &dyn TableStore,
    host: &str,
    ev: &Evaluation,
    subnets: Option<&std::collections::BTreeSet<String>>,
    now: OffsetDateTime,
) -> Result<Vec<spine::Finding>, AzureError> {
    let pk = host_key(host);
    let stored = query_all(tables, ESTATE_TABLE, &Filter::partition(&pk), MAX_ROWS).await?;
    record(tables, host, ev, stored, now, Some(subnets)).await
}

/// Opens (`finding`) or clears (`None`) the one finding `code` of a host, leaving the rest alone.
///
/// # Errors
/// Table errors.
pub async fn apply_one(
    tables: &dyn TableStore,
    host: &str,
    code: &str,
    finding: Option<Finding>,
    now: OffsetDateTime,
) -> Result<Vec<spine::Finding>, AzureError> {
    let ev = Evaluation {
        findings: finding.into_iter().collect(),
        assessed: [code.to_owned()].into(),
    };
    let pk = host_key(host);
    let stored = crate::tables::ops::get(tables, ESTATE_TABLE, &pk, code)
        .await?
        .into_iter()
        .collect();
    record(tables, host, &ev, stored, now, None).await
}

/// Writes `ev` over the host's `stored` rows (those it may open or clear); `checked`: the host's
/// marker is written too, with its Bastion subnets when given.
async fn record(
    tables: &dyn TableStore,
    host: &str,
    ev: &Evaluation,
    stored: Vec<Stored>,
    now: OffsetDateTime,
    checked: Option<Option<&std::collections::BTreeSet<String>>>,
) -> Result<Vec<spine::Finding>, AzureError> {
    let pk = host_key(host);
    let at = format_utc_millis(now);
    // Tells this call's own writes from another instance's made at the same instant.
    let me = uuid::Uuid::new_v4().to_string();
    let mut out = Vec::new();
    for f in &ev.findings {
        let current = stored.iter().find(|s| rk(s) == f.code).cloned();
        let mut announce = false;
        let row = update_from(tables, ESTATE_TABLE, &pk, &f.code, current, &mut |cur| {
            let (entity, mine) = seen(cur, host, f, &at, &me);
            announce = mine;
            entity
        })
        .await?;
        if announce && let Some(row) = row {
            out.push(finding(false, &Row::of(&row.entity), &at));
        }
    }
    let assessed: Vec<&str> = ev.assessed.iter().map(String::as_str).collect();
    let mut marker = json!({"PartitionKey": pk, "RowKey": CHECKED, "Host": host, "CheckedAt": at,
        ASSESSED: assessed.join(",")});
    if let Some(Some(ids)) = checked {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        marker[subnets::BASTION_SUBNETS] = ids.join(",").into();
    }
    if let Some(marker) = marker.as_object().filter(|_| checked.is_some()) {
        // Last writer wins: any instance's check time is as true as another's.
        write_creating_table(tables, ESTATE_TABLE, marker, WriteMode::Upsert).await?;
    }
    for s in stored.iter().filter(|s| rk(s) != CHECKED) {
        let code = rk(s);
        let open = get_str(&s.entity, "Status") == Some("open");
        if !open || !ev.assessed.contains(code) || ev.findings.iter().any(|f| f.code == code) {
            continue;
        }
        let mut cleared = false;
        let announced = was_announced(&s.entity);
        let row = update_from(
            tables,
            ESTATE_TABLE,
            &pk,
            code,
            Some(s.clone()),
            &mut |cur| {
                let (entity, done) = clear(cur?, &at, &me);
                cleared = done;
                entity
            },
        )
        .await?;
        if cleared
            && announced
            && let Some(row) = row
        {
            out.push(finding(true, &Row::of(&row.entity), &at));
        }
    }
    Ok(out)
}

/// Writes a row of its own kind that `nics::entity` or `moved::entity` built (`None`: nothing
/// to write, e.g. NICs too many for one row); last writer wins (any instance's read is as true
/// as another's).
///
/// # Errors
/// Table errors.
pub async fn put(tables: &dyn TableStore, row: Option<Entity>) -> Result<(), AzureError> {
    if let Some(e) = row {
        write_creating_table(tables, ESTATE_TABLE, &e, WriteMode::Upsert).await?;
    }
    Ok(())
}

/// Removes what was remembered of VM `vm`'s NICs (lower-case id; gone already is done).
///
/// # Errors
/// Table errors.
pub async fn forget(tables: &dyn TableStore, vm: &str) -> Result<(), AzureError> {
    let pk = host_key(vm);
    crate::tables::ops::remove(tables, ESTATE_TABLE, &pk, nics::NICS, None).await
}

/// Carries the findings stored under `from` over to `to` (a finding `to` already has keeps its
/// own row), with their episodes as they are: an open door stays open, announced once. Returns
/// how many rows moved.
///
/// # Errors
/// Table errors (what was carried stays carried; the next pass carries the rest).
pub async fn rekey(tables: &dyn TableStore, from: &str, to: &str) -> Result<usize, AzureError> {
    let pk = host_key(from);
    let rows = query_all(
        tables,
        ESTATE_TABLE,
        &Filter::partition(&pk),
        moved::MAX_ROWS,
    )
    .await?;
    let mut moved = 0;
    for s in rows {
        let Some(rk) = get_str(&s.entity, "RowKey").map(str::to_owned) else {
            continue;
        };
        if rk.starts_with('~') {
            continue;
        }
        let mut e = s.entity.clone();
        crate::tables::strip_annotations(&mut e);
        e.insert("PartitionKey".into(), Value::from(host_key(to)));
        e.insert("Host".into(), Value::from(to));
        e.insert(
            "HostName".into(),
            Value::from(crate::arm::resource_name(to)),
        );
        insert_once(tables, ESTATE_TABLE, &e).await?;
        crate::tables::ops::remove(tables, ESTATE_TABLE, &pk, &rk, None).await?;
        moved += 1;
    }
    Ok(moved)
}

/// Records finding `f` of `host` (a VM's resource id) open over `span` and closed since; the
/// notification when this call recorded it at `medium` or above.
///
/// # Errors
/// Table errors.
pub async fn record_past(
    tables: &dyn crate::tables::TableStore,
    host: &str,
    f: &Finding,
    span: (OffsetDateTime, OffsetDateTime),
    now: OffsetDateTime,
) -> Result<Vec<spine::Finding>, AzureError> {
    let pk = host_key(host);
    let at = format_utc_millis(now);
    // Tells this call's own write from another instance's.
    let me = uuid::Uuid::new_v4().to_string();
    let mut wrote = false;
    let row = crate::tables::ops::update(tables, ESTATE_TABLE, &pk, &f.code, &mut |cur| {
        let next = past::with_past(cur, host, f, span, &at, &me);
        wrote = next.is_some();
        next
    })
    .await?;
    let as_current = row
        .as_ref()
        .is_some_and(|r| get_str(&r.entity, "AnnouncedBy") == Some(me.as_str()));
    if f.level < Level::Medium || !(wrote || as_current) {
        return Ok(Vec::new());
    }
    let shown = Row {
        host: host.to_owned(),
        host_name: crate::arm::resource_name(host).to_owned(),
        finding: f.code.clone(),
        severity: f.level.as_str().to_owned(),
        status: "resolved".to_owned(),
        first_seen: format_utc_millis(span.0),
        last_seen: at.clone(),
        resolved_at: Some(format_utc_millis(span.1)),
        evidence: f.evidence.clone(),
        earlier: Vec::new(),
    };
    Ok(vec![finding(false, &shown, &at)])
}

fn rk(s: &Stored) -> &str {
    get_str(&s.entity, "RowKey").unwrap_or_default()
}

/// True when the episode of row `e` was announced (a row written before `Announced` existed was).
fn was_announced(e: &Entity) -> bool {
    e.get("Announced").and_then(Value::as_bool).unwrap_or(true)
}

/// The row after a check saw `f`: `(entity to write, true when this call (`me`) announces it)`.
fn seen(
    cur: Option<&Stored>,
    host: &str,
    f: &Finding,
    at: &str,
    me: &str,
) -> (Option<Entity>, bool) {
    // Announced at `medium` and above (an `info` finding is only shown).
    let loud = f.level >= Level::Medium;
    let open = cur.filter(|s| get_str(&s.entity, "Status") == Some("open"));
    let Some(open) = open else {
        return (Some(episode(cur, host, f, at, at, me)), loud);
    };
    let mine = get_str(&open.entity, "AnnouncedBy") == Some(me);
    let rises = loud && !was_announced(&open.entity);
    if get_str(&open.entity, "LastSeen") == Some(at) && !rises {
        return (None, mine);
    }
    let mut e = open.entity.clone();
    e.insert("LastSeen".into(), at.into());
    e.insert("Severity".into(), f.level.as_str().into());
    e.insert("Evidence".into(), f.evidence.clone().into());
    if rises {
        e.insert("Announced".into(), true.into());
        e.insert("AnnouncedBy".into(), me.into());
    }
    (Some(e), rises)
}

/// The row after a check found it gone: `(entity to write, true when this call clears it)`.
fn clear(cur: &Stored, at: &str, me: &str) -> (Option<Entity>, bool) {
    match get_str(&cur.entity, "Status") {
        Some("open") => {
            let mut e = cur.entity.clone();
            e.insert("Status".into(), "resolved".into());
            e.insert("ResolvedAt".into(), at.into());
            e.insert("ResolvedBy".into(), me.into());
            (Some(e), true)
        }
        _ => (None, get_str(&cur.entity, "ResolvedBy") == Some(me)),
    }
}

/// The finding of `row`'s episode: its code's declaration when it opened, [`ESTATE_RESOLVED`]
/// when it cleared.
fn finding(resolved: bool, row: &Row, at: &str) -> spine::Finding {
    let level = Level::parse(&row.severity).unwrap_or(Level::Medium);
    let (kind, severity) = if resolved {
        (&ESTATE_RESOLVED, Severity::Info)
    } else {
        (kinds::estate_code(&row.finding), level.severity())
    };
    // One episode, one id: host + finding + when it opened.
    let fact = format!(
        "{}|{}|{}",
        row.host.to_ascii_lowercase(),
        row.finding,
        row.first_seen
    );
    let evidence = json!({
        "bastionHost": row.host_name, "bastionHostId": row.host, "finding": row.finding,
        "findingSeverity": row.severity, "evidence": row.evidence,
        "firstSeen": row.first_seen, "resolvedAt": row.resolved_at,
    });
    spine::Finding::new(kind, fact, at, severity, evidence)
        .word("finding", &row.finding)
        .word("host", &row.host_name)
}

#[cfg(test)]
mod tests;

/// The marker of the state last recorded.
pub const EXPORTED: &str = "Exported";

/// Records the episodes whose state has no row yet; returns how many.
///
/// # Errors
/// Table errors (what was recorded stays; the next check records the rest).
pub async fn record_changes(tables: &dyn TableStore, outbox: &Outbox) -> Result<usize, AzureError> {
    if !outbox.enabled() {
        return Ok(0);
    }
    let all = Filter::str("PartitionKey", Op::Ge, "");
    let mut recorded = 0;
    for s in query_all(tables, ESTATE_TABLE, &all, MAX_ROWS).await? {
        let status = get_str(&s.entity, "Status").unwrap_or_default().to_owned();
        if get_str(&s.entity, EXPORTED) == Some(status.as_str()) {
            continue;
        }
        let Some(row) = sentinel::episode_row(&s.entity) else {
            continue;
        };
        outbox.record(&row).await?;
        mark_exported(tables, &s, &status).await?;
        recorded += 1;
    }
    Ok(recorded)
}

/// Marks finding row `s` exported in its `status`, unless the row changed since it was read.
async fn mark_exported(
    tables: &dyn TableStore,
    s: &Stored,
    status: &str,
) -> Result<(), AzureError> {
    let st = Some(status);
    let unmarked = |e: &Entity| get_str(e, "Status") == st && get_str(e, EXPORTED) != st;
    let marked = (EXPORTED, Value::from(status));
    mark(tables, ESTATE_TABLE, s, &unmarked, marked)
        .await
        .map(drop)
}
