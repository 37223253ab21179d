//! The `handler` binary's command line (clap). No subcommand = serve (how the Functions host starts
//! it); a subcommand runs once and exits.
//!
//! Flags that select catalogue rows are handed, as the API's query parameters, to the same
//! validation the API uses ([`crate::catalogue::query::Query::parse`]), so the command line and
//! `GET /api/recordings` accept and refuse the same values.

pub mod args;
pub mod backfill;
pub mod commands;
pub mod disconnect;
pub mod evidence;
pub mod evidence_summary;
pub mod exit;
pub mod hold;
pub mod query;

use clap::Parser;

use self::commands::Command;
use crate::config::{Config, ConfigError};
use crate::state::AppState;

/// Azure Bastion recordings: the Functions custom handler, and one-shot commands over the same
/// configuration (app settings as environment variables).
#[derive(Debug, Parser)]
#[command(name = "handler", version)]
pub struct Cli {
    /// What to run; none serves invocations (how the Functions host starts the handler).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[cfg(test)]
mod tests;

/// The subcommand the command line names, with logging set up for it; `None` when it names none
/// (the binary then serves). Usage errors exit 2 and `--help` 0 here, both printed by clap.
#[must_use]
pub fn command() -> Option<Command> {
    let cmd = Cli::parse().command?;
    crate::telemetry::init_for_cli(&crate::config::log_settings());
    Some(cmd)
}

/// The `handler`'s state: configuration from the environment, the seams it names.
///
/// # Errors
/// Every bad setting, or a client that cannot be built.
pub fn state_from_env() -> Result<AppState, ConfigError> {
    Config::from_env().and_then(AppState::from_config)
}
