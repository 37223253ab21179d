//! `GET /api/holds`: the active holds (one partition query on `holds`, PK `hold`, bounded), or with
//! `?recording=ID` the holds covering one recording (its row's `HoldIds`, then point reads).

use axum::extract::State;
use serde_json::{Value, json};

use super::super::context::Api;
use super::super::listing::Listing;
use super::super::problem::ApiError;
use crate::catalogue::recording::RecordingKey;
use crate::retention::hold;
use crate::state::AppState;
use crate::tables::{Entity, get_str};

/// Most holds one listing returns (`truncated` says when there are more).
pub(super) const MAX_LISTED: u32 = 1000;

/// The public shape of a hold header row.
pub(super) fn hold_json(e: &Entity) -> Value {
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    let selector = serde_json::from_str::<Value>(s("Selector")).unwrap_or(Value::Null);
    let mut v = json!({
        "holdId": s("RowKey"), "scope": s("Scope"), "status": s("Status"), "setBy": s("SetBy"),
        "reason": s("Reason"), "setAt": s("SetAt"), "selector": selector,
    });
    if !s("ReleasedAt").is_empty() {
        v["releasedBy"] = json!(s("ReleasedBy"));
        v["releasedAt"] = json!(s("ReleasedAt"));
    }
    v
}

/// Active holds, or the holds of `recording`.
///
/// # Errors
/// 400 for a malformed id, 404 for an unknown recording, 503 on storage failures.
pub async fn list(state: &AppState, recording: Option<&str>) -> Result<Value, ApiError> {
    let Some(id) = recording else {
        let (headers, truncated) = hold::active(&state.ports, MAX_LISTED).await?;
        let items: Vec<Value> = headers.iter().map(hold_json).collect();
        return Ok(json!({"count": items.len(), "items": items, "truncated": truncated}));
    };
    let key = RecordingKey::parse(id.trim())
        .ok_or_else(|| ApiError::bad("recording", "not a recording id"))?;
    let row = state
        .ports
        .catalogue()
        .get(&key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("recording {}", key.id())))?;
    let items: Vec<Value> = hold::of_row(&state.ports, &row.value)
        .await?
        .iter()
        .map(hold_json)
        .collect();
    let held = row.value.hold.held;
    Ok(json!({"recording": key.id(), "legalHold": held, "count": items.len(), "items": items}))
}

/// `GET /api/holds[?recording=ID]` (role `Catalogue.Read`).
pub(in crate::api) async fn handle_list(
    State(api): State<Api>,
    l: Listing,
) -> Result<axum::Json<Value>, ApiError> {
    let recording = l.only(&["recording"])?.get("recording");
    let recording = recording
        .map(String::as_str)
        .filter(|r| !r.trim().is_empty());
    list(&api.app, recording).await.map(axum::Json)
}
