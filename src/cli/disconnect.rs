//! `handler disconnect <host> <sessionId> --reason R --by WHO`: disconnects a live Bastion session
//! through the same code path as `POST /api/sessions/live/{id}/disconnect` (the audit row in
//! `disconnects`, announced by the next `LiveSessions` tick). Only with `BASTION_DISCONNECT=true`;
//! the CLI has no principal, so the operator names themself (`--by`, recorded as `cli:<WHO>`).
//! Prints the row as JSON; exit 0 `Disconnected`, 1 any other state or failure, 2 usage.

use std::process::ExitCode;

use clap::Args;

use super::exit::{Exit, fail};
use crate::estate::disconnect::{self, Request};
use crate::state::Start;

/// The session and the record.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DisconnectArgs {
    /// The Bastion host's resource id.
    pub host: String,
    /// The session id (`GET /api/sessions/live`).
    pub session_id: String,
    /// Why (recorded).
    #[arg(long)]
    pub reason: String,
    /// Who (the CLI has no principal).
    #[arg(long)]
    pub by: String,
}

/// Runs `disconnect`.
pub async fn run(args: DisconnectArgs, start: Start) -> Exit {
    if args.reason.trim().is_empty() || args.by.trim().is_empty() {
        return Err(fail(2, "--reason and --by must not be empty"));
    }
    let state = super::exit::state(start)?;
    let why = "disconnect is not enabled (BASTION_DISCONNECT=true and a Bastion host are needed)";
    let arm = state
        .arm
        .as_ref()
        .filter(|_| state.config.estate.disconnect)
        .ok_or_else(|| fail(2, why))?;
    if !state
        .config
        .estate
        .hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&args.host))
    {
        return Err(fail(2, "the host is not one of BASTION_HOSTS"));
    }
    let who = format!("cli:{}", args.by.trim());
    let req = Request {
        host: &args.host,
        session_id: &args.session_id,
        reason: &args.reason,
        who: &who,
    };
    let now = state.ports.clock.now();
    let ports = &state.ports;
    let row = disconnect::disconnect(
        ports.tables.as_ref(),
        &ports.outbox,
        arm.as_ref(),
        &req,
        now,
    )
    .await
    .map_err(|e| {
        let e = crate::telemetry::redact(&e.to_string());
        fail(1, format!("not recorded, not disconnected: {e}"))
    })?;
    super::exit::print_json(&row)?;
    Ok(ExitCode::from(u8::from(row["state"] != "Disconnected")))
}
