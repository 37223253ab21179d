//! The router: one `POST /<FunctionName>` route per function, each running under the shared outcome
//! policy ([`invocation_route`]), the catalogue API under `/api/`, and `GET /` for the host's
//! readiness and health pings; and what a handler binary runs without a subcommand ([`run`]): the
//! router served ([`serve`]).

use std::process::ExitCode;

use axum::Router;
use axum::routing::get;

use crate::functions::{
    audit_logs, custody, estate, evidence, fanout, integrity, notify, reconcile, recordings,
    retention, reviews, sentinel,
};
use crate::invocation::invocation_route;
use crate::state::{AppState, Start};
use crate::telemetry;

/// What a handler binary runs when its command line names no subcommand, over the state `start`
/// builds (the `handler`'s from its settings, the test kit's `handler-in-memory` over in-memory
/// stores): serves ([`serve`]) until SIGTERM/Ctrl-C, and exits 2 on any start-up failure: the
/// host restarts a crashed worker but treats exit 0 as intentional.
pub async fn run(start: Start) -> ExitCode {
    let served = match start() {
        Ok(state) => serve(state).await,
        Err(e) => Err(e.into()),
    };
    match served {
        // Only a SIGTERM/Ctrl-C ends serving: a requested stop is a clean exit.
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("handler failed to start: {e}");
            ExitCode::from(2)
        }
    }
}

/// Serves `state`'s router on `127.0.0.1:<FUNCTIONS_CUSTOMHANDLER_PORT>` until SIGTERM/Ctrl-C:
/// prints `listening addr=127.0.0.1:<port>` as its first stdout line (tests bind port 0), flushes
/// the heartbeats on an interval and once more at the end.
///
/// # Errors
/// The port cannot be listened on, or serving fails.
pub async fn serve(state: AppState) -> Result<(), Box<dyn std::error::Error>> {
    let port = state.config.port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| bind_error(port, &e))?;
    println!("listening addr={}", listener.local_addr()?);
    // Kept until `serve` returns: dropping the guard writes the lines still queued for stdout.
    let _log = telemetry::init(&state.config.log);
    tokio::spawn(crate::health::flush::run(
        state.heartbeats.clone(),
        state.ports.tables.clone(),
    ));
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown())
        .await?;
    // The last interval's heartbeats would otherwise die with the instance.
    if let Err(e) = crate::health::flush::flush(&state.heartbeats, &*state.ports.tables).await {
        tracing::warn!(error = %telemetry::redact(&e.to_string()), "final heartbeat flush failed");
    }
    tracing::info!("shut down on signal");
    Ok(())
}

/// A port that cannot be taken, named with the setting that chose it.
fn bind_error(port: u16, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        format!("port {port} (FUNCTIONS_CUSTOMHANDLER_PORT) is already in use by another process")
    } else {
        format!("port {port} (FUNCTIONS_CUSTOMHANDLER_PORT) cannot be listened on: {e}")
    }
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return ctrl_c.await.unwrap_or(());
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

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
