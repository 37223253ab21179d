//! `GET /api/sessions/{id}`: one session by its tunnel id, in the shape of a `GET /api/sessions`
//! item (the same fields under the same names, [`crate::catalogue::query::shape::Shape`]), with
//! its latest review and its authorization verdict and record (evidence ids, window, approver,
//! justification, ticket, an `unknown`'s reasons, the VM sign-in's MFA), and `sharedAccount` when
//! its VM account is shared (the `shared-account` finding's evidence). Every read writes its access-audit row before
//! answering (no audit row, no answer), as a recording's detail does.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::context::{Api, Reader};
use super::problem::ApiError;
use crate::catalogue::access::audit;
use crate::catalogue::days::{DayRow, day_of, get_row};
use crate::catalogue::query::shape::Shape as _;
use crate::catalogue::session::{self, SessionRecord};
use crate::reviews::annotate::latest;

/// Longest tunnel id asked for (Bastion's are GUIDs; a table key holds at most 1,024 bytes).
const MAX_ID: usize = 256;

/// The session `id`'s item: its `sessions` row names its start day, the day row holds the rest.
///
/// # Errors
/// 400 for an empty or over-long id, 404 when no session has it, 503 on storage failures
/// (including a failed audit write).
pub(super) async fn get(
    Reader(access): Reader,
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if id.trim().is_empty() || id.len() > MAX_ID {
        return Err(ApiError::bad("id", "not a session id"));
    }
    let tables = api.app.ports.tables.as_ref();
    let record = session::row(tables, &id).await?;
    let day = record
        .as_ref()
        .and_then(SessionRecord::from_entity)
        .and_then(|s| day_of(&s));
    let row = match day {
        Some(day) => get_row(tables, &day, &id).await?,
        None => None,
    };
    let row = row.and_then(|r| DayRow::from_entity(&r.entity));
    let outcome = if row.is_some() { "found" } else { "not-found" };
    let now = api.app.ports.clock.now();
    audit(tables, &access, "session.read", &id, outcome, now, None).await?;
    let Some(row) = row else {
        return Err(ApiError::NotFound(format!("session {id}")));
    };
    let review = latest(tables, std::slice::from_ref(&row)).await?;
    let mut item = row.json(review.first().and_then(Option::as_ref));
    let from = now - time::Duration::days(api.app.config.authz.shared_days);
    let at = (row.target_resource_id.as_str(), row.user_name.as_str());
    if let Some(shared) =
        crate::authorization::shared_store::of_account(tables, at, from, now).await?
    {
        item["sharedAccount"] = shared;
    }
    Ok(axum::Json(item).into_response())
}
