//! `handler backfill`: runs [`crate::backfill`] against the configured storage, printing one JSON
//! line per output and a summary (it posts nothing itself). Exit 0 when every item succeeded, 1
//! when any failed or storage stopped the run, 2 for usage or configuration errors
//! (docs/backfill.md).

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;

use super::exit::{Exit, fail};
use crate::backfill::progress::Progress;
use crate::backfill::{self, DEFAULT_CONCURRENCY, Kind, Options};
use crate::catalogue::query::Query;
use crate::state::Start;

/// Widest window (ten years).
const MAX_DAYS: u32 = 3660;

/// `backfill` flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct BackfillArgs {
    /// Start: a date (`2025-01-01`) or an RFC 3339 time.
    #[arg(long)]
    pub from: String,
    /// End: a date (inclusive) or an RFC 3339 time (exclusive).
    #[arg(long)]
    pub to: String,
    /// Items in flight at once (1–64).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
    /// Only recordings.
    #[arg(long, conflicts_with = "audit_logs_only")]
    pub recordings_only: bool,
    /// Only audit logs.
    #[arg(long)]
    pub audit_logs_only: bool,
    /// Count what would be done; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Ignore the checkpoint and start over.
    #[arg(long)]
    pub restart: bool,
    /// Stop after this many items (the next run continues).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Also hash each catalogued recording.
    #[arg(long)]
    pub hash: bool,
}

/// Validates the flags into options (a bare `--to` date is inclusive); errors name the bad flag.
pub fn options(args: &BackfillArgs) -> Result<Options, String> {
    let range = HashMap::from([
        ("from".to_owned(), args.from.clone()),
        ("to".to_owned(), args.to.clone()),
    ]);
    let q = Query::parse(&range, MAX_DAYS, &[], &[]).map_err(|e| e.to_string())?;
    let kinds = match (args.recordings_only, args.audit_logs_only) {
        (true, _) => vec![Kind::Recordings],
        (false, true) => vec![Kind::AuditLogs],
        (false, false) => vec![Kind::AuditLogs, Kind::Recordings],
    };
    Ok(Options {
        from: q.from,
        to: q.to,
        concurrency: args.concurrency.map_or(DEFAULT_CONCURRENCY, usize::from),
        kinds,
        dry_run: args.dry_run,
        restart: args.restart,
        limit: args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        hash: args.hash,
    })
}

/// Runs `backfill`.
pub async fn run(args: BackfillArgs, start: Start) -> Exit {
    let opts = options(&args).map_err(|e| fail(2, e))?;
    let state = super::exit::state(start)?;
    let mut out = std::io::stdout().lock();
    let mut emit = |queue: &str, message: serde_json::Value| {
        let line = serde_json::json!({"queue": queue, "message": message});
        let _ = writeln!(out, "{line}");
    };
    let mut progress = Progress::for_stderr();
    let result = backfill::run(&state, &opts, &mut progress, &mut emit).await;
    let summary = result.map_err(|e| {
        let e = crate::telemetry::redact(&e.to_string());
        fail(
            1,
            format!("backfill stopped: {e}; rerun to continue from the checkpoint"),
        )
    })?;
    super::exit::print(format_args!(
        "{}\n",
        serde_json::json!({ "summary": summary })
    ))?;
    let verb = if opts.dry_run { "dry run" } else { "backfill" };
    eprintln!("{verb}: {}", summary.line());
    if opts.dry_run {
        eprintln!(
            "{} item(s) would be catalogued or tailed",
            summary.would_process
        );
    }
    if !summary.complete {
        eprintln!("stopped at --limit; rerun to continue from the checkpoint");
    }
    if summary.errors > 0 {
        let failed = summary.failed.join("\n  ");
        return Err(fail(
            1,
            format!("failed (retried by the next run):\n  {failed}"),
        ));
    }
    Ok(ExitCode::SUCCESS)
}
