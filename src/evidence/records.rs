//! The pack's rows of the tables besides the lists: reviews, holds, tombstones, access-audit rows
//! and the detector's bursts, each with its file's columns.

use serde_json::Value;

use time::Duration;

use super::hosts::{About, HostFilter, keeps};
use super::named::Names;
use super::rows::{Facts, Row};
use crate::catalogue::access;
use crate::catalogue::query::Query;
use crate::catalogue::query::shape::Shape as _;
use crate::dates::{format_utc, format_utc_millis};
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::reviews::{Period, Review};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, get_str};

/// The columns of `holds.csv`, each `name=property` of the `holds` header row that fills it.
pub const HOLD_COLUMNS: &str = "holdId=RowKey,scope=Scope,status=Status,setBy=SetBy,setAt=SetAt,\
    reason=Reason,selector=Selector,releasedBy=ReleasedBy,releasedAt=ReleasedAt";
/// The columns of `deletions.csv` and the tombstone's properties.
pub const DELETION_COLUMNS: &str = "id=TombstoneId,deletedAt=DeletedAt,outcome=Outcome,\
    reason=Reason,retentionClass=RetentionClass,retainUntil=RetainUntil,sha256=Sha256,\
    blobUrl=BlobUrl,catalogueKey=CatalogueKey,invocationId=InvocationId,etag=ETag";
/// The columns of `accessaudit.csv` and the access-audit row's properties; the last three name
/// the recording `target` is (its blob, host and person: [`super::named::Named`]), empty for other targets.
pub const ACCESS_COLUMNS: &str = "at=At,who=Who,action=Action,target=Target,outcome=Outcome,\
    clientIp=ClientIp,userAgent=UserAgent,link=Link,blob=,bastionHost=,person=";
/// The columns of `bursts.csv` after the notification id, and the digest's fields that fill them.
pub const BURST_COLUMNS: &str = "windowStart=windowStart,windowEnd=windowEnd,dimension=dimension,\
    value=value,targetVm=targetVm,bastionHost=bastionHost,attempts=count";

/// The `(column, property)` pairs of a column list.
pub fn columns(list: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    list.split(',').filter_map(|c| c.split_once('='))
}

/// The next page of the period's reviews (`GET /api/reviews`'s cells), `None` after the last.
///
/// # Errors
/// Storage failures.
pub async fn reviews(
    tables: &dyn TableStore,
    period: &mut Period,
    host: Option<&HostFilter>,
) -> anyhow::Result<Option<Vec<Row>>> {
    let Some(page) = period.next_page(tables).await? else {
        return Ok(None);
    };
    let of_host = |r: &Review| host.as_ref().is_none_or(|h| h.is(&r.context.bastion_host));
    Ok(Some(
        page.into_iter()
            .filter(of_host)
            .map(|r| Row {
                cells: r.csv_cells(None),
                facts: Facts::Review {
                    subject: r.subject.id.clone(),
                    at: r.at,
                    verdict: r.verdict.as_str().to_owned(),
                    counts: r.identity != crate::reviews::refusal::SELF_REVIEW,
                    independent: r.identity == crate::reviews::refusal::VERIFIED,
                    finding: (r.verdict != crate::reviews::Verdict::Ok)
                        .then(|| Box::new(r.clone())),
                },
            })
            .collect(),
    ))
}

/// The `login.failed.burst` detections of the period (`window` rebuilds their digests).
pub async fn bursts(
    tables: &dyn TableStore,
    q: &Query,
    window: Duration,
    host: Option<&HostFilter>,
) -> anyhow::Result<Vec<Row>> {
    let found = crate::audit_logs::detect::stored::bursts(tables, q.from, q.to, window).await?;
    Ok(found
        .into_iter()
        .filter_map(|n| {
            let d = &n.evidence;
            let hosts: Vec<String> = d["bastionHost"]
                .as_str()
                .unwrap_or_default()
                .split(", ")
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(h) = host
                && !hosts.iter().any(|x| h.is(x))
            {
                return None;
            }
            let mut cells = vec![n.id()];
            cells.extend(columns(BURST_COLUMNS).map(|(_, k)| text(d.get(k))));
            Some(Row {
                cells,
                facts: Facts::Burst { hosts },
            })
        })
        .collect())
}

/// Holds set before the end and not released before the start (one small partition).
pub async fn holds(
    tables: &dyn TableStore,
    q: &Query,
    host: Option<&HostFilter>,
    names: &mut Names,
) -> anyhow::Result<Vec<Row>> {
    let (from, to) = (format_utc(q.from), format_utc(q.to));
    let rows = query_all(tables, HOLDS_TABLE, &Filter::partition("hold"), usize::MAX).await?;
    let mut out = Vec::new();
    for e in rows
        .iter()
        .map(|s| &s.entity)
        .filter(|e| get_str(e, "SetAt").unwrap_or_default() < to.as_str())
        .filter(|e| get_str(e, "ReleasedAt").is_none_or(|r| r.is_empty() || r >= from.as_str()))
    {
        if keeps(host, names, tables, About::Hold(&s(e, "RowKey"))).await? {
            out.push(Row {
                cells: cells(e, HOLD_COLUMNS),
                facts: Facts::Hold {
                    status: s(e, "Status"),
                },
            });
        }
    }
    Ok(out)
}

/// One page of tombstones deleted in the period, and the next page's token: a scan, since they
/// are keyed by the blob's creation day.
pub async fn deletions(
    tables: &dyn TableStore,
    q: &Query,
    token: Option<String>,
    host: Option<&HostFilter>,
    names: &mut Names,
) -> anyhow::Result<(Vec<Row>, Option<String>)> {
    let filter = Filter::And(vec![
        Filter::str("DeletedAt", Op::Ge, format_utc(q.from)),
        Filter::str("DeletedAt", Op::Lt, format_utc(q.to)),
    ]);
    let page = crate::tables::ops::page(tables, DELETIONS_TABLE, &filter, 1000, token).await?;
    let mut out = Vec::new();
    for e in page.items.iter().map(|st| &st.entity) {
        let id = s(e, "TombstoneId");
        if !id.is_empty() && keeps(host, names, tables, About::Recording(&id)).await? {
            out.push(Row {
                cells: cells(e, DELETION_COLUMNS),
                facts: Facts::Deletion {
                    class: s(e, "RetentionClass"),
                },
            });
        }
    }
    Ok((out, page.next))
}

/// The access-audit rows of day partition `day` within the period, each recording named.
pub async fn accesses(
    tables: &dyn TableStore,
    q: &Query,
    day: &str,
    host: Option<&HostFilter>,
    names: &mut Names,
) -> anyhow::Result<Vec<Row>> {
    let (from, to) = (format_utc_millis(q.from), format_utc_millis(q.to));
    let rows = access::in_day(tables, day).await?;
    let mut out = Vec::new();
    for e in rows
        .iter()
        .filter(|e| get_str(e, "At").is_some_and(|a| a >= from.as_str() && a < to.as_str()))
    {
        let target = s(e, "Target");
        if keeps(host, names, tables, About::Access(&target)).await? {
            let named = names.of(tables, &target).await?.unwrap_or_default();
            let mut cells = cells(e, ACCESS_COLUMNS);
            cells.truncate(cells.len() - 3);
            cells.extend([named.blob, named.host, named.person]);
            out.push(access_row(cells));
        }
    }
    Ok(out)
}

/// Most `StorageBlobLogs` requests a pack lists.
pub const STORAGE_ROWS: usize = 50_000;

/// The `StorageBlobLogs` requests on the recording `containers` (`/<account>/<container>`) over
/// the period as access rows, oldest first, at most [`STORAGE_ROWS`]; a last row says when rows
/// are missing or the query failed.
pub async fn storage_accesses(
    custody: &super::options::PackCustody,
    containers: &[String],
    q: &Query,
) -> Vec<Row> {
    let logs = custody.logs.as_ref();
    let span = (q.from, q.to);
    let found =
        crate::custody::query::run_period(logs, &custody.workspace, containers, span, STORAGE_ROWS)
            .await;
    let note = |outcome: String| {
        storage_row(vec![
            format_utc_millis(q.to),
            String::new(),
            "storage-logs".to_owned(),
            custody.workspace.clone(),
            outcome,
        ])
    };
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            let why = crate::telemetry::redact(&e.to_string());
            return vec![note(format!(
                "error: the workspace could not be queried: {why}"
            ))];
        }
    };
    let mut out: Vec<Row> = found
        .rows
        .iter()
        .map(|a| {
            let who = [&a.upn, &a.object_id, &a.app_id, &a.authentication]
                .into_iter()
                .find(|v| !v.is_empty())
                .cloned()
                .unwrap_or_default();
            storage_row(vec![
                a.at.clone(),
                who,
                format!("storage:{}", a.operation),
                a.object_key.clone(),
                a.status.clone(),
                a.caller_ip.clone(),
                a.user_agent.clone(),
            ])
        })
        .collect();
    if found.capped {
        out.push(note(format!(
            "capped: more than {STORAGE_ROWS} requests in the period; the first are listed"
        )));
    }
    if let Some(p) = found.partial {
        out.push(note(format!("partial: {p}")));
    }
    out
}

/// An `accessaudit.csv` row of a storage request (at, who, action, target, outcome, client IP,
/// user agent: the cells left out are empty), naming no recording.
fn storage_row(mut cells: Vec<String>) -> Row {
    cells.resize(columns(ACCESS_COLUMNS).count(), String::new());
    access_row(cells)
}

/// The row of `cells` (in the order of [`ACCESS_COLUMNS`]), with what the report lists of it:
/// at, who, action, the recording's blob or else the target, host, person.
fn access_row(cells: Vec<String>) -> Row {
    let what = if cells[8].is_empty() { 3 } else { 8 };
    let facts = Facts::Access([0, 1, 2, what, 9, 10].map(|i| cells[i].clone()));
    Row { cells, facts }
}

/// A string property of `e` (empty when absent or not a string).
pub(super) fn s(e: &Entity, k: &str) -> String {
    get_str(e, k).unwrap_or_default().to_owned()
}

/// The cells of `e` for the columns of `list`.
pub(super) fn cells(e: &Entity, list: &'static str) -> Vec<String> {
    columns(list).map(|(_, p)| text(e.get(p))).collect()
}

/// A value as a cell: a string as it is, a number or other value as JSON, none or null empty.
fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(v)) => v.clone(),
        None | Some(Value::Null) => String::new(),
        Some(v) => v.to_string(),
    }
}
