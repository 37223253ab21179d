//! `handler backfill --from D --to D [--concurrency N] [--recordings-only|--audit-logs-only]
//! [--dry-run] [--restart] [--limit N]`: runs [`crate::backfill`] against the configured storage.
//!
//! stdout: one JSON line per output the code paths produced, `{"queue": "notifications" |
//! "hashrequests", "message": {…}}` (a backfill does not post to Teams/Slack by itself: months of
//! `recording.catalogued` would flood the channels; pipe the lines to the queue if wanted), then a
//! last line `{"summary": {…}}`. stderr: progress and the summary in words. Exit 0 when every item
//! succeeded, 1 when any failed (listed; retried by the next run) or the run stopped on a storage
//! error, 2 for usage or configuration errors.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;

use super::Command;
use crate::backfill::progress::Progress;
use crate::backfill::{self, DEFAULT_CONCURRENCY, Kind, Options};
use crate::catalogue::api::query::Query;

/// Flags without a value.
const SWITCHES: &[&str] = &[
    "recordings-only",
    "audit-logs-only",
    "dry-run",
    "restart",
    "hash",
];
/// Flags with a value.
const VALUED: &[&str] = &["from", "to", "concurrency", "limit"];
/// Widest window (ten years).
const MAX_DAYS: u32 = 3660;

/// Parses the arguments after `backfill` (flags are validated later by [`options`]).
///
/// # Errors
/// A message for unknown flags or a missing value.
pub fn parse(rest: &[String]) -> Result<Command, String> {
    let mut flags = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let Some(flag) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument `{a}`"));
        };
        let (k, v) = match flag.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (flag.to_owned(), None),
        };
        if SWITCHES.contains(&k.as_str()) && v.is_none() {
            flags.push((k, "true".to_owned()));
        } else if VALUED.contains(&k.as_str()) {
            let v = match v {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("--{k} needs a value"))?,
            };
            flags.push((k, v));
        } else {
            return Err(format!("unknown flag `--{k}` for backfill"));
        }
    }
    options(&flags)?;
    Ok(Command::Backfill { flags })
}

/// Validates flags into options.
///
/// # Errors
/// A message naming the first bad flag.
pub fn options(flags: &[(String, String)]) -> Result<Options, String> {
    let map: HashMap<&str, &str> = flags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let range: HashMap<String, String> = ["from", "to"]
        .iter()
        .filter_map(|k| map.get(k).map(|v| ((*k).to_owned(), (*v).to_owned())))
        .collect();
    // The catalogue's own date parsing: a bare `--to` date is inclusive.
    let q = Query::parse(&range, None, MAX_DAYS).map_err(|e| format!("{e:?}"))?;
    let number = |k: &str, max: usize| -> Result<Option<usize>, String> {
        map.get(k)
            .map(|v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| format!("--{k} needs a whole number from 1 to {max}"))
            })
            .transpose()
    };
    let kinds = match (
        map.contains_key("recordings-only"),
        map.contains_key("audit-logs-only"),
    ) {
        (true, true) => {
            return Err("--recordings-only and --audit-logs-only exclude each other".into());
        }
        (true, false) => vec![Kind::Recordings],
        (false, true) => vec![Kind::AuditLogs],
        (false, false) => vec![Kind::AuditLogs, Kind::Recordings],
    };
    Ok(Options {
        from: q.from,
        to: q.to,
        concurrency: number("concurrency", 64)?.unwrap_or(DEFAULT_CONCURRENCY),
        kinds,
        dry_run: map.contains_key("dry-run"),
        restart: map.contains_key("restart"),
        limit: number("limit", usize::MAX)?,
        hash: map.contains_key("hash"),
    })
}

/// Runs `backfill`.
pub async fn run(flags: Vec<(String, String)>) -> ExitCode {
    let opts = match options(&flags) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let state = match crate::config::Config::from_env().and_then(crate::app::AppState::from_config)
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut emit = |queue: &str, message: serde_json::Value| {
        let line = serde_json::json!({"queue": queue, "message": message});
        let _ = writeln!(out, "{line}");
    };
    let mut progress = Progress::for_stderr();
    let result = backfill::run(&state, &opts, &mut progress, &mut emit).await;
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "backfill stopped: {}; rerun to continue from the checkpoint",
                crate::telemetry::redact(&e.to_string())
            );
            return ExitCode::from(1);
        }
    };
    println!("{}", serde_json::json!({ "summary": summary }));
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
        eprintln!(
            "failed (retried by the next run):\n  {}",
            summary.failed.join("\n  ")
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
