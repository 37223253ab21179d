//! The product's `handler` over in-memory stores (one account, blobs and tables, nothing
//! persists): what the e2e tests, the benchmarks and the demos spawn instead of `handler` with
//! Azurite. It runs the `handler`'s own subcommands ([`bastion_recordings::cli`]) and serving
//! ([`bastion_recordings::app::run`]),
//! over the state [`start`] builds:
//! - `HANDLER_IN_MEMORY_ACCOUNT`: the in-memory account's name (default `devstoreaccount1`);
//! - `HANDLER_IN_MEMORY_SEED`: synthetic recordings put at start-up, comma-separated names or
//!   `<prefix>:<count>` ([`bastion_testkit::storage::memory::seed`]);
//! - every other setting as the `handler` reads it.

use std::process::ExitCode;

use bastion_recordings::config::ConfigError;
use bastion_recordings::state::AppState;
use bastion_recordings::{app, cli};
use bastion_testkit::state::{ACCOUNT, config, in_memory, seed_in_memory};

/// As the `handler`: an invocation's small allocations are measured against it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match cli::command() {
        Some(cmd) => cli::commands::run(cmd, start).await,
        None => app::run(start).await,
    }
}

/// The settings read as the `handler` reads them ([`config`] supplies the storage connections the
/// product requires, which the in-memory stores never use), the stores in memory, seeded.
fn start() -> Result<AppState, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let setting = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let account = setting("HANDLER_IN_MEMORY_ACCOUNT").unwrap_or_else(|| ACCOUNT.to_owned());
    let state = in_memory(config(&pairs)?, &account);
    if let Some(spec) = setting("HANDLER_IN_MEMORY_SEED") {
        // The stores are built without interleaving: their calls never wait, so this runs to
        // its end at once.
        let failed = futures::executor::block_on(seed_in_memory(&state, &spec));
        if failed > 0 {
            return Err(ConfigError(vec![format!(
                "HANDLER_IN_MEMORY_SEED: {failed} blobs could not be put"
            )]));
        }
    }
    Ok(state)
}
