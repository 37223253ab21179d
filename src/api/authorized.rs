//! `GET /api/sessions/authorization?from&to[&bastion]`: who allowed the period's successful
//! sessions, as its evidence pack counts them ([`authorization_figures`]): sessions per verdict
//! in total and per host, those without a covering verdict, and the shared VM accounts.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::context::Api;
use super::listing::Listing;
use super::problem::ApiError;
use crate::evidence::authorized::authorization_figures;

/// The figures of the period (of one host with `bastion`).
pub(super) async fn figures(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    let opts = super::evidence::period_options(&api, &l.params)?;
    let f = authorization_figures(&api.app.ports, &opts).await.map_err(|e| {
        tracing::warn!(error.cause_chain = %crate::telemetry::redact(&format!("{e:#}")), "authorization figures failed");
        ApiError::Unavailable
    })?;
    let shared: Vec<_> = (f.shared.iter())
        .map(|s| {
            json!({"vm": s.vm_name, "vmResourceId": s.vm, "account": s.account,
            "people": s.people, "firstUse": crate::dates::format_utc_millis(s.first),
            "lastUse": crate::dates::format_utc_millis(s.last)})
        })
        .collect();
    Ok(axum::Json(json!({
        "from": crate::dates::format_utc(opts.from), "to": crate::dates::format_utc(opts.to),
        "total": f.total, "hosts": f.hosts, "sharedAccounts": f.shared_accounts, "shared": shared,
    }))
    .into_response())
}
