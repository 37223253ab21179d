//! What each subcommand does. Output goes to stdout (machine-readable JSON), problems to stderr.

use std::process::ExitCode;

use clap::Subcommand;

use super::args::{CatalogueArgs, SweepArgs, VerifyArgs};
use super::exit::{Exit, fail};
use super::{backfill, disconnect, evidence, hold};
use crate::retention::lifecycle;
use crate::retention::sweep::{self, SweepParams, digest};
use crate::state::Start;

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

/// `catalogue query` prints one page (the next continuation on stderr); `export` follows
/// continuations to the end.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum CatalogueCommand {
    /// One page of rows.
    Query(CatalogueArgs),
    /// Every row of the range.
    Export(CatalogueArgs),
}

/// Runs a one-shot command over the state `start` builds. Exit codes: 0 done, 1 the command
/// failed, 2 bad configuration or usage.
pub async fn run(cmd: Command, start: Start) -> ExitCode {
    match cmd {
        Command::LifecyclePolicy => lifecycle_policy(),
        Command::Sweep(args) => sweep_once(args.dry_run, start).await,
        Command::Catalogue(CatalogueCommand::Query(args)) => {
            super::query::query(false, args, start).await
        }
        Command::Catalogue(CatalogueCommand::Export(args)) => {
            super::query::query(true, args, start).await
        }
        Command::Verify(args) => super::query::verify(args, start).await,
        Command::Backfill(args) => backfill::run(args, start).await,
        Command::Hold(cmd) => hold::run(cmd, start).await,
        Command::Disconnect(args) => disconnect::run(args, start).await,
        Command::Evidence(args) => evidence::run(args, start).await,
    }
    .unwrap_or_else(|code| code)
}

fn lifecycle_policy() -> Exit {
    // Only the policy's settings: rendering it needs no storage connection.
    let policy =
        crate::config::retention_policy(&|k| std::env::var(k).ok()).map_err(|e| fail(2, e))?;
    let text = lifecycle::render(&policy).map_err(|errors| {
        fail(
            1,
            format!("lifecycle policy invalid:\n  - {}", errors.join("\n  - ")),
        )
    })?;
    super::exit::print(text)?;
    Ok(ExitCode::SUCCESS)
}

async fn sweep_once(dry_run: bool, start: Start) -> Exit {
    let state = super::exit::state(start)?;
    let now = state.ports.clock.now();
    let mut params = SweepParams::new(
        &state.config.retention,
        now,
        format!("cli-{}", uuid::Uuid::new_v4()),
    );
    // `--dry-run` always wins; `--execute` still honours RETENTION_DRY_RUN=true.
    params.dry_run |= dry_run;
    let (report, error) = sweep::run(&crate::state::sweeper(&state), &params).await;
    // Printed, not sent: the deletions it lists stay unannounced for the timer's next digest.
    let digest = digest::prepare(state.ports.tables.as_ref(), &report, now).await;
    let out = digest.map_or_else(
        || serde_json::json!({"summary": report.summary(), "report": report}),
        |d| serde_json::json!({"summary": report.summary(), "digest": crate::spine::messages([d.finding]).pop()}),
    );
    super::exit::print_json(&out)?;
    match error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            let e = crate::telemetry::redact(&format!("{e:#}"));
            Err(fail(1, format!("sweep stopped: {e}")))
        }
    }
}
