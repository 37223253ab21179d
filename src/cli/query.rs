//! `handler catalogue query|export` and `handler verify`: the API's filters and code paths from the
//! command line.
//!
//! Flags mirror the API's query parameters (`--from`, `--to`, `--user`, `--ip`, `--vm`,
//! `--protocol`, `--status`, `--class`, `--confidence`, `--limit`, `--continuation`, `--format
//! json|csv`) and are validated by the same [`Query::parse`]. `query` prints one page (the next
//! continuation on stderr); `export` follows continuations to the end; `--out FILE` writes to a file.
//! `verify --from --to [--sample N]` re-hashes rows (all, or a 1-in-N sample salted by the run)
//! and prints `recording.tampered` / `recording.missing` notifications as JSON lines; exit 1 when
//! there are findings.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;

use super::{CatalogueArgs, VerifyArgs};
use crate::api::query::{Format, Query};
use crate::api::{render, search, token};
use crate::catalogue::RECORDINGS_TABLE;
use crate::config::Config;
use crate::integrity::verify::{Sample, Verdict, verify_row};
use crate::state::AppState;

fn state() -> Result<AppState, ExitCode> {
    Config::from_env()
        .and_then(AppState::from_config)
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })
}

/// Runs `catalogue query` (`export = false`) or `catalogue export`.
pub async fn query(export: bool, args: CatalogueArgs) -> ExitCode {
    let params = args.params();
    let out = args.out;
    let state = match state() {
        Ok(s) => s,
        Err(c) => return c,
    };
    let q = match Query::parse(&params, None, state.config.api.max_range_days) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("{e:?}");
            return ExitCode::from(2);
        }
    };
    let fp = q.fingerprint();
    let mut cursor = match crate::api::listing::resume(&q, &fp, &q.recording_days()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e:?}");
            return ExitCode::from(2);
        }
    };
    let mut sink: Box<dyn std::io::Write> = match &out {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("--out {p}: {e}");
                return ExitCode::from(2);
            }
        },
        None => Box::new(std::io::stdout().lock()),
    };
    if q.format == Format::Csv {
        let _ = sink.write_all(render::csv_header().as_bytes());
    }
    let mut total = 0usize;
    loop {
        let found = match search::search(
            state.ports.tables.as_ref(),
            RECORDINGS_TABLE,
            &q,
            cursor.clone(),
        )
        .await
        {
            Ok(f) => f,
            Err(e) => {
                eprintln!("query failed: {e:?}");
                return ExitCode::from(1);
            }
        };
        total += found.rows.len();
        for r in &found.rows {
            let line = match q.format {
                Format::Csv => render::csv_row(r),
                Format::Json => format!("{}\n", render::json_row(r)),
            };
            if let Err(e) = sink.write_all(line.as_bytes()) {
                eprintln!("write failed: {e}");
                return ExitCode::from(1);
            }
        }
        cursor = found.next;
        match &cursor {
            Some(_) if export => continue,
            Some(c) => eprintln!("continuation: {}", token::encode(c, &fp)),
            None => {}
        }
        break;
    }
    let _ = sink.flush();
    eprintln!("{total} recording(s)");
    ExitCode::SUCCESS
}

/// Runs `verify`.
pub async fn verify(args: VerifyArgs) -> ExitCode {
    let params = args.filters.params();
    let sample = match args.sample {
        None => Sample::All,
        Some(n) => Sample::OneIn(n, uuid::Uuid::new_v4().to_string()),
    };
    let q = match Query::parse(&params, None, 366) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("{e:?}");
            return ExitCode::from(2);
        }
    };
    let state = match state() {
        Ok(s) => s,
        Err(c) => return c,
    };
    let now = state.ports.clock.now();
    let (mut counts, mut findings) = (HashMap::<&str, usize>::new(), 0usize);
    for day in q.recording_days() {
        let rows =
            match search::day_rows(state.ports.tables.as_ref(), RECORDINGS_TABLE, &day, &q).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("day {day}: {e:?}");
                    return ExitCode::from(1);
                }
            };
        for raw in rows
            .iter()
            .filter(|r| crate::tables::get_str(r, "RecordingId").is_some_and(|id| sample.picks(id)))
        {
            let label = match verify_row(&state.ports, raw, now).await {
                Ok(Verdict::Finding(n)) => {
                    findings += 1;
                    println!("{}", n.to_output());
                    "findings"
                }
                Ok(Verdict::Intact) => "intact",
                Ok(Verdict::Unhashed) => "unhashed",
                Ok(Verdict::Expired) => "expired",
                Err(e) => {
                    eprintln!("{}", crate::telemetry::redact(&e.to_string()));
                    "errors"
                }
            };
            *counts.entry(label).or_default() += 1;
        }
    }
    eprintln!("verify: {counts:?}");
    if findings > 0 || counts.contains_key("errors") {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
