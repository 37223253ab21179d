//! `GET /api/health`: the operational report of [`crate::health::report`] — last event per
//! function, audit-log tail lag, quarantine counts, stalled-recordings state, overall status.
//!
//! 200 with `status` `ok` / `degraded` / `stalled` (the report answered; read `reasons`), 503 with
//! `unavailable` when storage cannot be read. Never an error detail: the cause goes to the log.
//!
//! **Who sees what.** The route stays open to every caller (probes, monitors; App Service
//! authentication excludes it), but an anonymous one gets the status word only (`{"status": …}`):
//! the details name Bastion hosts that are not recorded or audited, storage accounts and
//! containers. They need `Catalogue.Read` in the authentication mode's own terms: under `platform`
//! a principal header carrying the role, under `jwt` a valid bearer token with it, under `none`
//! the function key (every caller that reaches the handler holds it); an unset or invalid
//! `CATALOGUE_AUTH` shows them to no one. A caller whose credentials fail gets the status word,
//! never a 401: a probe must always learn whether the app is up.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::ROLE_READ;
use super::context::Api;
use crate::azure::AzureError;
use crate::health::report::{Unavailable, blobs_answer, build};
use crate::telemetry::redact;

/// The status word alone, for a caller without `Catalogue.Read`.
fn status_only(doc: &Value) -> Value {
    json!({"status": doc["status"]})
}

/// Answers the health report.
pub(super) async fn health(State(api): State<Api>, headers: HeaderMap) -> Response {
    // The details to a caller with `Catalogue.Read` in the mode's terms.
    let caller = api.auth.authenticate(&headers).await;
    let details = caller.is_ok_and(|caller| caller.has(ROLE_READ));
    let now = api.app.ports.clock.now();
    let deps = crate::state::health(&api.app);
    match build(&deps, now, api.settings.health.tail_lag).await {
        Ok(mut doc) => {
            // Whether the estate checks run is configuration, not storage: said here.
            let hosts = api.app.config.estate.hosts.len();
            doc["estate"]["hosts"] = hosts.into();
            doc["estate"]["checks"] = if hosts == 0 { "off" } else { "on" }.into();
            let body = if details { doc } else { status_only(&doc) };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => {
            let (tables, blobs, cause) = match e {
                // The tables are read first: whether the blobs answer is asked, not assumed.
                Unavailable::Tables(e) => (false, blobs_answer(&deps).await, e),
                Unavailable::Blobs(e) => (true, false, e),
            };
            tracing::warn!(error = %redact(&cause.to_string()), "health check: storage unavailable");
            let down = match (tables, blobs) {
                (false, false) => "tables and blobs (or queues)",
                (false, true) => "tables",
                _ => "blobs (or queues)",
            };
            // A refused key is said as such (its sentence names the setting, never the key).
            let reason = if matches!(cause, AzureError::Unauthenticated { .. }) {
                format!("{cause}: {down}")
            } else {
                format!("the app's storage (AzureWebJobsStorage) does not answer: {down}")
            };
            let body = json!({"status": "unavailable", "tables": tables, "blobs": blobs, "reason": reason});
            let body = if details { body } else { status_only(&body) };
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
