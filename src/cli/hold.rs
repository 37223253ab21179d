//! `handler hold set|release|list`: legal holds from the command line, through the same request
//! validation ([`body::parse`]) and code path ([`holds::set`], [`holds::release`], [`holds::list`])
//! as `POST`/`DELETE`/`GET /api/holds`.
//!
//! Target flags: `--recording ID` | `--blob URL` | a bulk selector `--from D --to D [--user U]
//! [--vm V] [--session S]`; `--reason R` and `--by WHO` are required for set/release (the CLI has no
//! principal, so the operator names themself); `--id HOLD` names the hold (default: derived from the
//! target); `--request ID` names the two-person release request a release approves. `list
//! [--recording ID]`. Prints the JSON result; exit 0 done, 1 failed, 2 usage.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::exit::{Exit, fail};
use crate::api::holds::{self, HoldRequest, body};
use crate::api::problem::ApiError;
use crate::retention::hold::Actor;
use crate::state::Start;

/// `hold set|release|list`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum HoldCommand {
    /// Set a legal hold on one recording or a bulk selection.
    Set(HoldArgs),
    /// Release a hold.
    Release(HoldArgs),
    /// Active holds, or one recording's.
    List {
        /// Only this recording's holds.
        #[arg(long)]
        recording: Option<String>,
    },
}

/// The target and the record of a set or release (serialised: the API request's fields, but `by`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, serde::Serialize)]
pub struct HoldArgs {
    /// The recording's catalogue id.
    #[arg(long)]
    pub recording: Option<String>,
    /// The recording's blob URL.
    #[arg(long)]
    #[serde(rename = "blobUrl")]
    pub blob: Option<String>,
    /// Bulk selection: first session-start day.
    #[arg(long)]
    pub from: Option<String>,
    /// Bulk selection: last session-start day.
    #[arg(long)]
    pub to: Option<String>,
    /// Bulk selection: user.
    #[arg(long)]
    pub user: Option<String>,
    /// Bulk selection: target VM.
    #[arg(long)]
    pub vm: Option<String>,
    /// Bulk selection: Bastion session id.
    #[arg(long)]
    pub session: Option<String>,
    /// Why (recorded with the hold).
    #[arg(long)]
    pub reason: Option<String>,
    /// Who sets or releases it (the CLI has no principal, so the operator names themself).
    #[arg(long)]
    #[serde(skip)]
    pub by: String,
    /// The hold's id (default: derived from the target).
    #[arg(long)]
    #[serde(rename = "holdId")]
    pub id: Option<String>,
    /// Release only, two-person release: the open request (`requestId`) this release approves.
    #[arg(long)]
    pub request: Option<String>,
}

/// The flags of a bulk selector.
const BULK: [&str; 5] = ["from", "to", "user", "vm", "session"];

/// Builds the validated API request, and who acts, from set/release flags.
///
/// # Errors
/// A usage message (a blank `--by`, or the API's validation message).
pub fn request(args: &HoldArgs) -> Result<(HoldRequest, String), String> {
    let by = args.by.trim();
    if by.is_empty() {
        return Err("--by WHO must name someone (recorded with the hold)".into());
    }
    let top = super::args::params(args).into_iter();
    let mut top: Map<String, Value> = top.map(|(k, v)| (k, Value::String(v))).collect();
    // The selector's flags go into the body's `bulk` object.
    let bulk: Map<String, Value> = BULK.iter().filter_map(|k| top.remove_entry(*k)).collect();
    if !bulk.is_empty() {
        top.insert("bulk".into(), Value::Object(bulk));
    }
    let body = serde_json::to_vec(&Value::Object(top)).map_err(|e| e.to_string())?;
    Ok((body::parse(&body)?, by.to_owned()))
}

fn problem(e: &ApiError) -> ExitCode {
    let code = e.status().as_u16();
    let exit = if code == 400 { 2 } else { 1 };
    fail(exit, format!("hold failed ({code}): {}", e.detail()))
}

/// Runs `hold set|release|list`.
pub async fn run(cmd: HoldCommand, start: Start) -> Exit {
    let req = match &cmd {
        HoldCommand::List { .. } => None,
        HoldCommand::Set(args) | HoldCommand::Release(args) => {
            Some(request(args).map_err(|e| fail(2, e))?)
        }
    };
    let state = super::exit::state(start)?;
    let result = match (&cmd, req) {
        (HoldCommand::List { recording }, _) => holds::list(&state, recording.as_deref()).await,
        (_, Some((req, by))) => {
            let actor = Actor {
                who: by,
                why: req.reason.clone(),
                at: state.ports.clock.now(),
            };
            if matches!(cmd, HoldCommand::Set(_)) {
                holds::set(&state, &req, &actor).await
            } else {
                let person = crate::catalogue::person::Person::new([&actor.who], None);
                holds::release(&state, &req, &actor, &person)
                    .await
                    .map(|r| r.doc().clone())
            }
        }
        (_, None) => return Err(ExitCode::from(2)),
    };
    let v = result.map_err(|e| problem(&e))?;
    super::exit::print_json(&v)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::Cli;
    use crate::cli::commands::Command;

    fn args(flags: &[&str]) -> Result<HoldArgs, String> {
        let argv = ["handler", "hold", "set"].iter().chain(flags);
        match Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            Some(Command::Hold(HoldCommand::Set(a))) => Ok(a),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn flags_become_the_api_request() {
        let (req, by) = request(
            &args(&[
                "--recording",
                "2025-03-14~eA",
                "--reason",
                "case 9",
                "--by",
                "alice",
                "--id=case-9",
            ])
            .expect("parses"),
        )
        .expect("ok");
        assert_eq!(
            (by.as_str(), req.hold_id.as_deref()),
            ("alice", Some("case-9"))
        );
        let (bulk, _) = request(
            &args(&[
                "--from",
                "2025-03-01",
                "--to",
                "2025-03-02",
                "--user",
                "mallory",
                "--vm",
                "VM-1",
                "--reason",
                "r",
                "--by",
                "b",
            ])
            .expect("parses"),
        )
        .expect("bulk");
        assert!(
            matches!(bulk.target, holds::HoldTarget::Bulk(ref s) if s.vm.as_deref() == Some("vm-1"))
        );
        for bad in [
            &["--recording", "2025-03-14~eA", "--reason", "r"][..],
            &["--recording", "2025-03-14~eA", "--reason", "r", "--by", " "],
            &["--recording", "2025-03-14~eA", "--by", "b"],
            &[
                "--recording",
                "2025-03-14~eA",
                "--blob",
                "https://a/c/b",
                "--reason",
                "r",
                "--by",
                "b",
            ],
            &["--user", "u", "--reason", "r", "--by", "b"],
            &[
                "--recording",
                "2025-03-14~eA",
                "--reason",
                "r",
                "--by",
                "b",
                "--force",
                "1",
            ],
        ] {
            assert!(args(bad).and_then(|a| request(&a)).is_err(), "{bad:?}");
        }
    }
}
