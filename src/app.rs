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

/// `router` with one `POST /<FunctionName>` route per `name => function`, each under
/// [`invocation_route`].
macro_rules! functions {
    ($router:expr, $($name:expr => $function:expr),+ $(,)?) => {
        $router$(.route(&format!("/{}", $name), invocation_route($name, $function)))+
    };
}

/// The router: readiness plus one route per function.
pub fn router(state: AppState) -> Router {
    let ready = get(|| async { axum::Json(serde_json::json!({"status": "ok"})) });
    functions!(Router::new().route("/", ready),
        recordings::RECORDING_CREATED => recordings::recording_created,
        audit_logs::AUDIT_LOG_CREATED => audit_logs::audit_log_created,
        audit_logs::AUDIT_LOG_TAIL => audit_logs::audit_log_tail,
        audit_logs::AUDIT_LOG_QUERY => audit_logs::audit_log_query,
        reconcile::RECONCILE => reconcile::reconcile,
        retention::RETENTION_SWEEP => retention::retention_sweep,
        integrity::RECORDING_HASH => integrity::recording_hash,
        integrity::INTEGRITY_VERIFY => integrity::integrity_verify,
        estate::ESTATE_CHECK => estate::estate_check,
        estate::LIVE_SESSIONS => estate::live_sessions,
        evidence::EVIDENCE_PACK => evidence::evidence_pack,
        notify::NOTIFY_WEBHOOK => notify::notify_webhook,
        fanout::WORK_UNIT => fanout::work_unit,
        reviews::REVIEW_QUEUE => reviews::review_queue,
        custody::CUSTODY_ACTOR => custody::custody_actor,
        sentinel::SENTINEL_EXPORT => sentinel::sentinel_export,
    )
    .with_state(state.clone())
    .merge(crate::api::routes(state))
}
