//! The `handler` binary: started by the Functions host (or devhost) on `FUNCTIONS_CUSTOMHANDLER_PORT`.
//! With a subcommand (`handler --help` lists them) it runs one command and exits instead ([`bastion_recordings::cli`]).
//!
//! Prints `listening addr=127.0.0.1:<port>` as its first stdout line (tests bind port 0), serves until
//! SIGTERM/Ctrl-C, and exits non-zero on any start-up failure: the host restarts a crashed worker but
//! treats exit 0 as intentional.

use std::process::ExitCode;

use bastion_recordings::app::router;
use bastion_recordings::cli::{self, Cli};
use bastion_recordings::config::Config;
use bastion_recordings::state::AppState;
use bastion_recordings::telemetry;
use clap::Parser as _;

/// mimalloc: an invocation's few hundred small, short-lived allocations cost glibc's malloc far more.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit 2 and `--help` exits 0, both printed by clap.
    if let Some(cmd) = Cli::parse().command {
        telemetry::init_for_cli(&bastion_recordings::config::log_settings());
        return cli::commands::run(cmd).await;
    }
    match run().await {
        // Only a SIGTERM/Ctrl-C ends serving: a requested stop is a clean exit.
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("handler failed to start: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let port = config.port;
    let state = AppState::from_config(config)?;
    #[cfg(feature = "test-support")]
    if let Some(spec) = &state.config.in_memory_seed {
        let failed = state.seed_in_memory(spec).await;
        if failed > 0 {
            return Err(format!("HANDLER_IN_MEMORY_SEED: {failed} blobs could not be put").into());
        }
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| bind_error(port, &e))?;
    println!("listening addr={}", listener.local_addr()?);
    // Kept until `run` returns: dropping the guard writes the lines still queued for stdout.
    let _log = telemetry::init(&state.config.log);
    tokio::spawn(bastion_recordings::health::flush::run(
        state.heartbeats.clone(),
        state.ports.tables.clone(),
    ));
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown())
        .await?;
    // The last interval's heartbeats would otherwise die with the instance.
    if let Err(e) =
        bastion_recordings::health::flush::flush(&state.heartbeats, &state.ports.tables).await
    {
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
