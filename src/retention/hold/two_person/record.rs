//! A two-person release on the record: requester and approver stamped on the hold before the
//! release, the request marked released after it, and a period's requests for the evidence pack.

use super::{HOLDS_TABLE, HoldError, RELEASE_PK, Request, Scope, header_rk, member_pk};
use crate::azure::AzureError;
use crate::ports::Ports;
use crate::tables::keys::MAX_KEY_BYTES;
use crate::tables::ops::{query_all, update};
use crate::tables::{Entity, Filter, TableStore, get_str};

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
