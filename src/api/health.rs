//! `GET /api/health`: the operational report of [`crate::health::report`] — last event per
//! function, audit-log tail lag, quarantine counts, stalled-recordings state, overall status.
//!
//! 200 with `status` `ok` / `degraded` / `stalled` (the report answered; read `reasons`), 503 with
//! `unavailable` when storage cannot be read. Never an error detail: the cause goes to the log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Api;
use crate::health::report::{Unavailable, build};
use crate::telemetry::redact;

/// Answers the health report.
pub(super) async fn health(State(api): State<Api>) -> Response {
    let now = api.app.ports.clock.now();
    match build(&crate::state::health(&api.app), now, &api.settings.health).await {
        Ok(mut doc) => {
            // Whether the estate checks run is configuration, not storage: said here.
            let hosts = api.app.config.estate.hosts.len();
            doc["estate"]["hosts"] = hosts.into();
            doc["estate"]["checks"] = if hosts == 0 { "off" } else { "on" }.into();
            (StatusCode::OK, axum::Json(doc)).into_response()
        }
        Err(e) => {
            let (tables, blobs, cause) = match e {
                Unavailable::Tables(e) => (false, true, e.to_string()),
                Unavailable::Blobs(e) => (true, false, e.to_string()),
            };
            tracing::warn!(error = %redact(&cause), "health check: storage unavailable");
            let body = json!({"status": "unavailable", "tables": tables, "blobs": blobs});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
