//! The `handler` binary: started by the Functions host (or devhost) on `FUNCTIONS_CUSTOMHANDLER_PORT`,
//! over the seams its settings name. With a subcommand (`handler --help` lists them) it runs one
//! command and exits instead ([`bastion_recordings::cli`]); otherwise it serves
//! ([`bastion_recordings::app::run`]).
//!
//! Prints `listening addr=127.0.0.1:<port>` as its first stdout line (tests bind port 0), serves until
//! SIGTERM/Ctrl-C, and exits non-zero on any start-up failure: the host restarts a crashed worker but
//! treats exit 0 as intentional.

use std::process::ExitCode;

use bastion_recordings::{app, cli};

/// mimalloc: an invocation's few hundred small, short-lived allocations cost glibc's malloc far more.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match cli::command() {
        Some(cmd) => cli::commands::run(cmd, cli::state_from_env).await,
        None => app::run(cli::state_from_env).await,
    }
}
