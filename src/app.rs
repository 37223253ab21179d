//! The router: one `POST /<FunctionName>` route per function, each running under the shared outcome
//! policy ([`invocation_route`]), the catalogue API under `/api/`, and `GET /` for the host's
//! readiness and health pings.

use axum::Router;
use axum::routing::get;

use crate::functions::{
    audit_logs, custody, estate, evidence, fanout, integrity, notify, reconcile, recordings,
    retention, reviews, sentinel,
};
use crate::invocation::invocation_route;
use crate::state::AppState;

/// The router: readiness plus one route per function.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            &format!("/{}", recordings::RECORDING_CREATED),
            invocation_route(recordings::RECORDING_CREATED, recordings::recording_created),
        )
        .route(
            &format!("/{}", audit_logs::AUDIT_LOG_CREATED),
            invocation_route(audit_logs::AUDIT_LOG_CREATED, audit_logs::audit_log_created),
        )
        .route(
            &format!("/{}", audit_logs::AUDIT_LOG_TAIL),
            invocation_route(audit_logs::AUDIT_LOG_TAIL, audit_logs::audit_log_tail),
        )
        .route(
            &format!("/{}", audit_logs::AUDIT_LOG_QUERY),
            invocation_route(audit_logs::AUDIT_LOG_QUERY, audit_logs::audit_log_query),
        )
        .route(
            &format!("/{}", reconcile::RECONCILE),
            invocation_route(reconcile::RECONCILE, reconcile::reconcile),
        )
        .route(
            &format!("/{}", retention::RETENTION_SWEEP),
            invocation_route(retention::RETENTION_SWEEP, retention::retention_sweep),
        )
        .route(
            &format!("/{}", integrity::RECORDING_HASH),
            invocation_route(integrity::RECORDING_HASH, integrity::recording_hash),
        )
        .route(
            &format!("/{}", integrity::INTEGRITY_VERIFY),
            invocation_route(integrity::INTEGRITY_VERIFY, integrity::integrity_verify),
        )
        .route(
            &format!("/{}", estate::ESTATE_CHECK),
            invocation_route(estate::ESTATE_CHECK, estate::estate_check),
        )
        .route(
            &format!("/{}", estate::LIVE_SESSIONS),
            invocation_route(estate::LIVE_SESSIONS, estate::live_sessions),
        )
        .route(
            &format!("/{}", evidence::EVIDENCE_PACK),
            invocation_route(evidence::EVIDENCE_PACK, evidence::evidence_pack),
        )
        .route(
            &format!("/{}", notify::NOTIFY_WEBHOOK),
            invocation_route(notify::NOTIFY_WEBHOOK, notify::notify_webhook),
        )
        .route(
            &format!("/{}", fanout::WORK_UNIT),
            invocation_route(fanout::WORK_UNIT, fanout::work_unit),
        )
        .route(
            &format!("/{}", reviews::REVIEW_QUEUE),
            invocation_route(reviews::REVIEW_QUEUE, reviews::review_queue),
        )
        .route(
            &format!("/{}", custody::CUSTODY_ACTOR),
            invocation_route(custody::CUSTODY_ACTOR, custody::custody_actor),
        )
        .route(
            &format!("/{}", sentinel::SENTINEL_EXPORT),
            invocation_route(sentinel::SENTINEL_EXPORT, sentinel::sentinel_export),
        )
        .with_state(state.clone())
        .merge(crate::api::routes(state))
}
