//! `POST /api/reviews` (role `Catalogue.Review`: sign off a recording or session) and
//! `GET /api/reviews` (role `Catalogue.Read`: the review log of a range, filtered, JSON or CSV,
//! paged like `/api/sessions`) and `GET /api/reviews/queue` (role `Catalogue.Read`: what still
//! needs a human, riskiest first): the HTTP face of [`crate::reviews`].
//!
//! The reviewer is the authenticated caller's name, or [`FUNCTION_KEY_CALLER`] when the function
//! key is the only credential (`CATALOGUE_AUTH=none`); a `reviewer` field in the body is ignored.

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use super::auth::{Caller, ROLE_READ, ROLE_REVIEW};
use super::problem::ApiError;
use super::query::{Format, Query};
use super::search::{self, View};
use super::{Api, FUNCTION_KEY_CALLER, csv, csv_response, token};
use crate::dates::timestamp;
use crate::reviews::model::COLUMNS;
use crate::reviews::{REVIEWS_TABLE, Review, ReviewError, ReviewRequest, Verdict, queue, record};
use crate::tables::{Entity, get_str};
use crate::telemetry::redact;

/// Filter parameters of `GET /api/reviews`.
pub const FILTER_PARAMS: &[&str] = &["reviewer", "verdict", "bastion"];

/// Maps domain errors to API errors (storage detail logged redacted, never returned).
pub fn api_error(e: ReviewError) -> ApiError {
    match e {
        ReviewError::Invalid(m) => ApiError::BadRequest(m),
        ReviewError::NotFound(m) => ApiError::NotFound(m),
        ReviewError::Conflict(m) => ApiError::Conflict(m),
        ReviewError::Storage(e) => {
            tracing::warn!(error.cause_chain = %redact(&format!("{e:#}")), "reviews API: storage failed");
            ApiError::Unavailable
        }
    }
}

/// `POST /api/reviews`: 201 with the review, 200 with the first one for a retry.
pub(super) async fn post(
    caller: Caller,
    State(api): State<Api>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    // Authorization first: an unauthorized caller learns nothing about body validation.
    let reviewer = caller
        .require(ROLE_REVIEW)?
        .unwrap_or_else(|| FUNCTION_KEY_CALLER.to_owned());
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let req = ReviewRequest::parse(&bytes, key).map_err(api_error)?;
    let done = record(&api.app.ports, &req, &reviewer)
        .await
        .map_err(api_error)?;
    tracing::info!(
        review = %done.review.id,
        kind = done.review.subject.kind.as_str(),
        verdict = done.review.verdict.as_str(),
        created = done.created,
        "review recorded"
    );
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(done.review.to_json())).into_response())
}

fn reviewed_at(e: &Entity) -> Option<OffsetDateTime> {
    get_str(e, "ReviewedAt").and_then(timestamp)
}

/// True when a log row lies in the range and passes the filters (case-insensitive equality).
fn matches(q: &Query, e: &Entity) -> bool {
    reviewed_at(e).is_some_and(|t| t >= q.from && t < q.to)
        && q.filters.iter().all(|(p, want)| {
            let prop = match *p {
                "reviewer" => "Reviewer",
                "verdict" => "Verdict",
                _ => "BastionHost",
            };
            get_str(e, prop).is_some_and(|v| v.to_lowercase() == *want)
        })
}

/// `GET /api/reviews`.
pub(super) async fn list(
    caller: Caller,
    State(api): State<Api>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    caller.require(ROLE_READ)?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let q = Query::parse_for(&params, accept, api.settings.max_range_days, FILTER_PARAMS)?;
    if let Some((_, v)) = q.filters.iter().find(|(p, _)| *p == "verdict")
        && Verdict::parse(v).is_none()
    {
        return Err(ApiError::bad("verdict", Verdict::ALL.join(" | ")));
    }
    let fp = format!("reviews:{}", q.fingerprint());
    let days = q.days();
    let start = match &q.continuation {
        Some(t) => Some(token::decode(t, &fp, &days)?),
        None => None,
    };
    let view = View {
        keep: &|e| matches(&q, e),
        time: reviewed_at,
    };
    let tables = api.app.ports.tables.as_ref();
    let found = search::search_with(tables, REVIEWS_TABLE, &days, q.limit, start, &view).await?;
    let next = found.next.map(|c| token::encode(&c, &fp));
    let items: Vec<_> = found
        .rows
        .iter()
        .filter_map(Review::from_entity)
        .map(|r| r.to_json())
        .collect();
    Ok(match q.format {
        Format::Json => {
            axum::Json(json!({"items": items, "count": items.len(), "continuation": next}))
                .into_response()
        }
        Format::Csv => {
            let mut body = csv::line(COLUMNS);
            for item in &items {
                let cells: Vec<&str> = COLUMNS
                    .iter()
                    .map(|c| item[*c].as_str().unwrap_or_default())
                    .collect();
                body.push_str(&csv::line(&cells));
            }
            csv_response(body, next)
        }
    })
}

/// Most queue items per request.
pub const MAX_QUEUE: usize = 500;

/// `GET /api/reviews/queue[?limit=N&bastion=H]`: the riskiest unreviewed sessions, riskiest first,
/// with their reasons.
pub(super) async fn queue(
    caller: Caller,
    State(api): State<Api>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    caller.require(ROLE_READ)?;
    if let Some(k) = params
        .keys()
        .find(|k| !["limit", "bastion", "code"].contains(&k.as_str()))
    {
        return Err(ApiError::bad(k, "unknown parameter"));
    }
    let limit = match params.get("limit").map(|v| v.trim()) {
        None | Some("") => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_QUEUE).contains(n))
            .ok_or_else(|| ApiError::bad("limit", format_args!("1 to {MAX_QUEUE}")))?,
    };
    let bastion = params
        .get("bastion")
        .map(|b| b.trim())
        .filter(|b| !b.is_empty());
    let now = api.app.ports.clock.now();
    let rows = queue::read::top(api.app.ports.tables.as_ref(), limit, bastion).await?;
    let items: Vec<_> = rows.iter().map(|e| queue::read::to_json(e, now)).collect();
    Ok(axum::Json(json!({"items": items, "count": items.len()})).into_response())
}
