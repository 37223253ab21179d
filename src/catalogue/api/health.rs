//! `GET /api/health`: cheap liveness of the catalogue — the table answers, the latest catalogued
//! recording (today's and yesterday's partitions only), and the quarantine size (first listing page).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::Duration;

use super::Api;
use crate::catalogue::RECORDINGS_TABLE;
use crate::retention::policy::format_date;
use crate::tables::{Filter, TableError, get_str};

/// Answers 200 `{"status":"ok", …}` or 503 `{"status":"unavailable", …}`; never error details.
pub(super) async fn health(State(api): State<Api>) -> Response {
    let now = api.app.clock.now();
    let mut latest: Option<String> = None;
    let mut tables_ok = true;
    for day in [now.date(), (now - Duration::days(1)).date()] {
        let f = Filter::partition(&format_date(day));
        match api
            .app
            .tables
            .query(RECORDINGS_TABLE, Some(&f), Some(1000), None)
            .await
        {
            Ok(page) => {
                let best = page
                    .items
                    .iter()
                    .filter_map(|s| get_str(&s.entity, "BlobCreated"))
                    .max()
                    .map(str::to_owned);
                latest = latest.max(best);
            }
            Err(TableError::NotFound) => {}
            Err(_) => tables_ok = false,
        }
    }
    let quarantine = api
        .app
        .app_blobs
        .list(&api.app.config.quarantine_container, None, None)
        .await;
    let (quarantined, more, blobs_ok) = match quarantine {
        Ok(p) => (p.items.len(), p.next.is_some(), true),
        Err(_) => (0, false, false),
    };
    let ok = tables_ok && blobs_ok;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ok" } else { "unavailable" },
        "tables": tables_ok, "blobs": blobs_ok,
        "lastRecordingCreated": latest,
        "quarantined": quarantined, "quarantinedMore": more,
    });
    (status, axum::Json(body)).into_response()
}
