//! `POST /api/reviews` (role `Catalogue.Review`: sign off a recording or session) and
//! `GET /api/reviews` (role `Catalogue.Read`: the review log of a range, filtered, JSON or CSV,
//! paged like `/api/sessions`), `GET /api/reviews/queue` (role `Catalogue.Read`: what still
//! needs a human, riskiest first) and `GET /api/reviews/figures` (role `Catalogue.Read`: the
//! period's reviewed-on-time and overdue counts, the evidence pack's): the HTTP face of
//! [`crate::reviews`].
//!
//! The reviewer is the authenticated caller's name, or `FUNCTION_KEY_CALLER` when the function
//! key is the only credential (`CATALOGUE_AUTH=none`); a `reviewer` field in the body is ignored.
//! A caller who is the session's user (UPN/e-mail, object id), and an application token (no user:
//! no one to sign off), are refused with 403 and the reason.

#[cfg(test)]
mod tests;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{Caller, ROLE_REVIEW};
use super::context::{Api, FUNCTION_KEY_CALLER};
use super::listing::{self, Listing};
use super::problem::ApiError;
use crate::catalogue::person::Person;
use crate::catalogue::query;
use crate::catalogue::query::shape::Shape as _;
use crate::evidence::reviewed::review_figures;
use crate::ports::RequestError;
use crate::reviews::{Review, ReviewRequest, Reviewer, queue, record_by};

/// `POST /api/reviews`: 201 with the review, 200 with the first one for a retry.
pub(super) async fn post(
    caller: Caller,
    State(api): State<Api>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    // Authorization first: an unauthorized caller learns nothing about body validation.
    // An application token names no user: a reviewer without names, refused by `record_by`.
    let reviewer = caller.require_identity(ROLE_REVIEW)?.map_or_else(
        || Reviewer::named(FUNCTION_KEY_CALLER),
        |id| Reviewer {
            person: id
                .user()
                .unwrap_or_else(|| Person::new([""; 0], id.object_id.as_deref())),
            name: id.name,
        },
    );
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let req = ReviewRequest::parse(&bytes, key)?;
    let done = record_by(&api.app.ports, &req, &reviewer)
        .await
        .inspect_err(|e| {
            if let RequestError::Refused(why) = e {
                tracing::warn!(who = %reviewer.name, subject = %req.subject.id, why, "review refused");
            }
        })?;
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
    Ok((status, axum::Json(done.review.json(None))).into_response())
}

/// `GET /api/reviews`.
pub(super) async fn list(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    listing::list::<Review>(&api, &l, "reviews").await
}

/// `GET /api/reviews/figures?from&to[&bastion]`: the period's review figures as its evidence
/// pack counts them ([`crate::evidence::reviewed::review_figures`]): sessions, reviewed, reviewed
/// on time (by the review deadline after the session's end) and queued and overdue now.
pub(super) async fn figures(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    let opts = super::evidence::period_options(&api, &l.params)?;
    let f = review_figures(&api.app.ports, &opts).await.map_err(|e| {
        tracing::warn!(error.cause_chain = %crate::telemetry::redact(&format!("{e:#}")), "review figures failed");
        ApiError::Unavailable
    })?;
    Ok(axum::Json(json!({
        "from": crate::dates::format_utc(opts.from), "to": crate::dates::format_utc(opts.to),
        "sessions": f.tally.sessions, "reviewed": f.tally.reviewed,
        "reviewedOnTime": f.tally.reviewed_on_time, "overdue": f.overdue,
        "deadlineHours": opts.review_deadline.whole_hours(),
    }))
    .into_response())
}

/// Most queue items per request.
pub const MAX_QUEUE: usize = 500;

/// `GET /api/reviews/queue[?limit=N&bastion=H]`: the riskiest unreviewed sessions, riskiest first,
/// with their reasons; `rankedAt` (when `ReviewQueue` last finished, `null` before its first run)
/// and `nextRankAt` (its timer's next tick).
pub(super) async fn queue(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    let params = l.only(&["limit", "bastion"])?;
    let limit = query::limit(params, 50, MAX_QUEUE)?;
    let bastion = params
        .get("bastion")
        .map(|b| b.trim())
        .filter(|b| !b.is_empty());
    let now = api.app.ports.clock.now();
    let rows = queue::read::top(api.app.ports.tables.as_ref(), limit, bastion).await?;
    let items: Vec<_> = rows.iter().map(|e| queue::read::to_json(e, now)).collect();
    let ranked = queue::read::ranked_at(api.app.ports.tables.as_ref()).await?;
    let next = crate::dates::format_utc_millis(queue::read::next_rank(now));
    Ok(axum::Json(json!({"items": items, "count": items.len(),
        "rankedAt": ranked, "nextRankAt": next}))
    .into_response())
}
