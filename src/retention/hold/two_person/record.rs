//! A two-person release on the record: requester and approver stamped on the hold before the
//! release, the request marked released after it, and a period's requests for the evidence pack.

use super::model::{RELEASE_PK, Request, Scope};
use crate::azure::AzureError;
use crate::ports::{Ports, RequestError};
use crate::retention::hold::rows::{self, HOLDS_TABLE};
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, get_str};

/// Copies requester and approver onto the hold's header or member row, before the release.
///
/// # Errors
/// Storage failures.
pub async fn stamp(ports: &Ports, scope: &Scope, request: &Request) -> Result<(), RequestError> {
    let (pk, rk) = scope.row(request.get("HoldId"));
    let fields = [
        ("ReleaseRequestedBy", request.get("RequestedBy")),
        ("ReleaseRequestedAt", request.get("RequestedAt")),
        ("ReleaseApprovedBy", request.get("ApprovedBy")),
        ("ReleaseApprovedAt", request.get("ApprovedAt")),
    ];
    let done = |e: &Entity| fields.iter().all(|(k, v)| get_str(e, k) == Some(*v));
    Ok(rows::set(ports.tables.as_ref(), (&pk, &rk), &fields, &done).await?)
}

/// Marks the request released (at `at`), once.
///
/// # Errors
/// Storage failures.
pub async fn finish(ports: &Ports, request: &Request, at: &str) -> Result<(), RequestError> {
    let fields = [("Status", "released"), ("ReleasedAt", at)];
    let done = |e: &Entity| get_str(e, "Status") == Some("released");
    let key = (RELEASE_PK, request.row_key.as_str());
    Ok(rows::set(ports.tables.as_ref(), key, &fields, &done).await?)
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
    let rows = query_all(
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
