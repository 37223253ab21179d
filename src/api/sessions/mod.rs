//! `GET /api/sessions`: Bastion sessions from the audit logs — recorded, unrecorded and failed
//! logins alike — filtered, sorted by start, paged, JSON or CSV.
//!
//! **Source and partitions.** The `sessionwindows` index (PK = session start day, RK = tunnelId),
//! which `AuditLogTail` writes next to each `sessions` row with every field shown here, so a range
//! of N days is N partition-scoped queries through the same paging engine as `/api/recordings`
//! (`api::listing::page`) — no scans, no per-row point reads. Filters are evaluated in the
//! handler on those partitions. Tokens share the recordings scheme but are bound to this route.

mod render;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use time::OffsetDateTime;

pub use render::{COLUMNS, csv_cells, csv_row, json_item};

use super::Api;
use super::listing::{self, Listing, page_response};
use super::problem::ApiError;
use super::query::Query;
use super::search::View;
use crate::catalogue::window::WINDOWS_TABLE;
use crate::csv_text as csv;
use crate::dates::timestamp;
use crate::reviews::annotate::{Rows, annotate};
use crate::tables::{Entity, get_str};

/// Filter parameters `/api/sessions` accepts.
pub const FILTER_PARAMS: &[&str] = &["user", "ip", "vm", "protocol", "status", "bastion"];

/// Property filters: (parameter, index properties any of which may match).
const PROPS: &[(&str, &[&str])] = &[
    ("user", &["UserName", "UserEmail"]),
    ("ip", &["ClientIp"]),
    ("vm", &["TargetVm", "TargetResourceId"]),
    ("protocol", &["Protocol"]),
    ("bastion", &["BastionHost"]),
];

/// `status` values: the four outcomes, plus `recorded` / `unrecorded`.
pub const STATUSES: &[&str] = &[
    "success",
    "failed-login",
    "other",
    "unknown",
    "recorded",
    "unrecorded",
];

/// Parses and validates the parameters of `/api/sessions`.
///
/// # Errors
/// 400 naming the first bad parameter.
pub fn parse(
    params: &HashMap<String, String>,
    accept: Option<&str>,
    max_days: u32,
) -> Result<Query, ApiError> {
    let q = Query::parse_for(params, accept, max_days, FILTER_PARAMS)?;
    if let Some((_, s)) = q.filters.iter().find(|(p, _)| *p == "status")
        && !STATUSES.contains(&s.as_str())
    {
        return Err(ApiError::bad("status", STATUSES.join(" | ")));
    }
    Ok(q)
}

/// The public outcome of an index row: `success`, `failed-login`, `other` or `unknown`.
pub fn outcome(e: &Entity) -> &'static str {
    match get_str(e, "Outcome").unwrap_or_default() {
        "connected" => "success",
        "login-failed" => "failed-login",
        "other" => "other",
        _ => "unknown",
    }
}

/// True when the current match of a recording names the session (as the join last derived it).
pub fn recorded(e: &Entity) -> bool {
    e.get("Recorded").and_then(Value::as_bool).unwrap_or(false)
}

/// The session start (sort and range time).
pub fn start(e: &Entity) -> Option<OffsetDateTime> {
    get_str(e, "Start")
        .filter(|s| !s.is_empty())
        .and_then(timestamp)
}

/// True when an index row lies in the range and passes every filter (case-insensitive equality).
pub fn matches(q: &Query, e: &Entity) -> bool {
    start(e).is_some_and(|t| t >= q.from && t < q.to)
        && q.filters.iter().all(|(p, want)| match *p {
            "status" => match want.as_str() {
                "recorded" => recorded(e),
                "unrecorded" => !recorded(e),
                o => outcome(e) == o,
            },
            _ => PROPS
                .iter()
                .find(|(n, _)| n == p)
                .is_some_and(|(_, props)| {
                    props
                        .iter()
                        .any(|k| get_str(e, k).is_some_and(|v| v.to_lowercase() == *want))
                }),
        })
}

/// One page of sessions and the next token (bound to this route: a recordings token is a 400).
///
/// # Errors
/// 400 for a bad token, 503 when storage fails.
pub async fn page(
    tables: &dyn crate::tables::TableStore,
    q: &Query,
) -> Result<(Vec<Entity>, Option<String>), ApiError> {
    let view = View {
        keep: &|e| matches(q, e),
        time: start_time,
    };
    listing::page(tables, WINDOWS_TABLE, "sessions", q, &view).await
}

/// [`start`] as a sort key (the paging engine's `View::time`).
pub fn start_time(e: &Entity) -> Option<OffsetDateTime> {
    start(e)
}

/// The CSV header line.
pub fn csv_header() -> String {
    csv::line(COLUMNS)
}

/// `GET /api/sessions`.
pub(super) async fn list(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    let q = parse(&l.params, l.accept.as_deref(), api.settings.max_range_days)?;
    let tables = api.app.ports.tables.as_ref();
    let (mut rows, next) = page(tables, &q).await?;
    annotate(tables, &mut rows, Rows::Sessions).await?;
    l.audit(&api, "sessions", q.format, rows.len()).await?;
    Ok(page_response(
        q.format,
        &rows,
        next,
        json_item,
        csv_header(),
        csv_row,
    ))
}
