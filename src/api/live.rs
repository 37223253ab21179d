//! `GET /api/sessions/live` (`Catalogue.Read`): the sessions Bastion reports connected now
//! (table `livesessions`). `POST /api/sessions/live/{id}/disconnect` (`Catalogue.Disconnect`, only
//! with `BASTION_DISCONNECT=true`): body `{"reason": "…"}` (required); disconnects the session on
//! its host and answers the audit row (who from the authenticated principal, when, why, and the
//! service's state `Disconnected` / `Failed` / `NotFound`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::auth::{Caller, ROLE_DISCONNECT, ROLE_READ};
use super::context::Api;
use super::problem::ApiError;
use crate::estate::{disconnect, live};
use crate::tables::get_str;

/// Largest accepted body.
const MAX_BODY: usize = 4096;

/// The live sessions.
pub(super) async fn list(
    caller: Caller,
    State(api): State<Api>,
) -> Result<axum::Json<Value>, ApiError> {
    caller.require(ROLE_READ)?;
    let rows = live::live_now(api.app.ports.tables.as_ref()).await?;
    let items: Vec<Value> = rows.iter().map(live::json_of).collect();
    Ok(axum::Json(json!({"count": items.len(), "items": items})))
}

/// Disconnects one live session.
pub(super) async fn disconnect(
    caller: Caller,
    State(api): State<Api>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    // Only a proven principal may disconnect: the audit row must name who did it.
    let who = caller
        .require(ROLE_DISCONNECT)?
        .ok_or(ApiError::Forbidden(ROLE_DISCONNECT))?;
    let arm = api
        .app
        .arm
        .as_ref()
        .filter(|_| api.app.config.estate.disconnect)
        .ok_or_else(|| {
            ApiError::Conflict("disconnect is not enabled (BASTION_DISCONNECT)".into())
        })?;
    if bytes.len() > MAX_BODY {
        return Err(ApiError::bad(
            "body",
            format_args!("larger than {MAX_BODY} bytes"),
        ));
    }
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|_| ApiError::bad("body", "not JSON"))?;
    let reason = body["reason"].as_str().map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err(ApiError::bad(
            "reason",
            "required: why the session is disconnected",
        ));
    }
    let tables = api.app.ports.tables.as_ref();
    let row = live::find(tables, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such live session".into()))?;
    let host = get_str(&row, "Host").unwrap_or_default();
    let req = disconnect::Request {
        host,
        session_id: &id,
        reason,
        who: &who,
    };
    let now = api.app.ports.clock.now();
    // An HTTP caller waits: no Resource Manager wait outlives what the request may take.
    let arm = crate::arm::bounded(arm, std::time::Instant::now() + disconnect::BUDGET);
    let done =
        disconnect::disconnect(tables, &api.app.ports.outbox, arm.as_ref(), &req, now).await?;
    tracing::info!(who = %who, session = %id, state = %done["state"], "live session disconnect");
    Ok(axum::Json(done))
}
