//! The `handler` binary's command line (clap). No subcommand = serve (how the Functions host starts
//! it); a subcommand runs once and exits.
//!
//! Flags that select catalogue rows are handed, as the API's query parameters, to the same
//! validation the API uses ([`crate::catalogue::query::Query::parse`]), so the command line and
//! `GET /api/recordings` accept and refuse the same values.

pub mod backfill;
pub mod commands;
pub mod disconnect;
pub mod evidence;
pub mod evidence_summary;
pub mod hold;
pub mod query;

use std::collections::HashMap;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError};
use crate::state::{AppState, Start};

/// Azure Bastion recordings: the Functions custom handler, and one-shot commands over the same
/// configuration (app settings as environment variables).
#[derive(Debug, Parser)]
#[command(name = "handler", version)]
pub struct Cli {
    /// What to run; none serves invocations (how the Functions host starts the handler).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A one-shot command.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Print the Azure lifecycle-management policy JSON generated from the retention policy.
    LifecyclePolicy,
    /// Run RetentionSweep once now against the configured storage and print its digest.
    Sweep(SweepArgs),
    /// Catalogue rows as JSON lines or CSV, with the API's filters.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Catalogue and tail what already exists in storage (resumable from its checkpoint).
    Backfill(backfill::BackfillArgs),
    /// Set, release or list legal holds (the same code path as /api/holds).
    #[command(subcommand)]
    Hold(hold::HoldCommand),
    /// Disconnect a live Bastion session (`BASTION_DISCONNECT=true`), recorded with who and why.
    Disconnect(disconnect::DisconnectArgs),
    /// Re-hash recordings; report tampered or missing ones (exit 1 when there are findings).
    Verify(VerifyArgs),
    /// Write a period's signed evidence pack; print the public key; verify a pack.
    Evidence(evidence::EvidenceArgs),
}

/// `sweep`: deleting needs an explicit `--execute`, so a bare `sweep` typed to "have a look"
/// deletes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[group(required = true, multiple = false)]
pub struct SweepArgs {
    /// Report what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete what has expired.
    #[arg(long)]
    pub execute: bool,
}

/// `catalogue query` prints one page (the next continuation on stderr); `export` follows
/// continuations to the end.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum CatalogueCommand {
    /// One page of rows.
    Query(CatalogueArgs),
    /// Every row of the range.
    Export(CatalogueArgs),
}

/// A range of times, as the API's `from` and `to`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, serde::Serialize)]
pub struct Range {
    /// Start of the range: a date (`2025-03-01`) or an RFC 3339 time.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range: a date (inclusive) or an RFC 3339 time (exclusive).
    #[arg(long)]
    pub to: Option<String>,
}

/// The row filters, named as the API's query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, serde::Serialize)]
pub struct Filters {
    /// Which times.
    #[command(flatten)]
    #[serde(flatten)]
    pub range: Range,
    /// User name or e-mail.
    #[arg(long)]
    pub user: Option<String>,
    /// Client IP.
    #[arg(long)]
    pub ip: Option<String>,
    /// Target VM name or resource id.
    #[arg(long)]
    pub vm: Option<String>,
    /// Protocol (`ssh`, `rdp`).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Row status.
    #[arg(long)]
    pub status: Option<String>,
    /// Retention class.
    #[arg(long)]
    pub class: Option<String>,
    /// Join confidence.
    #[arg(long)]
    pub confidence: Option<String>,
    /// Bastion host name (the session's host, or the host its recording container is tied to).
    #[arg(long)]
    pub bastion: Option<String>,
    /// Recording storage account name.
    #[arg(long)]
    pub account: Option<String>,
}

/// The flags that were given, as API query parameters named as their fields (a flag not given
/// serialises as null and is left out).
pub fn params(args: &impl serde::Serialize) -> HashMap<String, String> {
    let Ok(serde_json::Value::Object(m)) = serde_json::to_value(args) else {
        return HashMap::new();
    };
    (m.into_iter())
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
        .collect()
}

/// `catalogue query|export`: the API's query parameters, but `out`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, serde::Serialize)]
pub struct CatalogueArgs {
    /// Which rows.
    #[command(flatten)]
    #[serde(flatten)]
    pub filters: Filters,
    /// Rows per page (as the API's `limit`).
    #[arg(long)]
    pub limit: Option<String>,
    /// Continue from a previous page's continuation.
    #[arg(long)]
    pub continuation: Option<String>,
    /// `json` (lines) or `csv`.
    #[arg(long)]
    pub format: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long)]
    #[serde(skip)]
    pub out: Option<String>,
}

/// `verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct VerifyArgs {
    /// Which rows.
    #[command(flatten)]
    pub filters: Filters,
    /// Check about 1 in N rows (salted by the run) instead of all.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: Option<u32>,
}

/// What a command ends with: `Err` is an early exit whose message is already printed.
pub type Exit = Result<ExitCode, ExitCode>;

/// Prints `msg` to stderr and gives `code`, the exit code to end with.
pub fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(code)
}

/// Writes `text` to stdout. A reader that has gone (`handler evidence public-key | head -1`) ends
/// the command quietly with exit 0, as other command-line tools do.
///
/// # Errors
/// The exit code to end with: 0 for a closed pipe, 1 for another failed write.
pub fn print(text: impl std::fmt::Display) -> Result<(), ExitCode> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(written)
}

/// A failed write of a command's output as the exit to end with: quietly 0 when the reader has
/// gone, else 1 with the reason.
pub fn written(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        fail(1, format!("write failed: {e}"))
    }
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

/// The state a one-shot command runs over, built by `start`; a bad setting is printed (named,
/// never its value) and the command exits 2.
///
/// # Errors
/// The exit code to end with.
pub fn state(start: Start) -> Result<AppState, ExitCode> {
    start().map_err(|e| fail(2, e))
}
