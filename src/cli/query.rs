//! `handler catalogue query|export` and `handler verify`: the API's filters, validated and read by
//! the same code as `GET /api/recordings` ([`crate::api::listing::parse`]). `verify` exits 1 when
//! there are findings. Flags: docs/catalogue.md.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;

use super::args::{CatalogueArgs, VerifyArgs};
use super::exit::{Exit, fail, state};
use crate::api::listing::{Format, parse};
use crate::api::problem::ApiError;
use crate::catalogue::query::shape::Shape as _;
use crate::catalogue::query::{Query, page};
use crate::catalogue::recording::Recording;
use crate::evidence::hosts::{BastionCheck, known_bastion};
use crate::integrity::verify::{Sample, Verdict, verify as verify_recording};
use crate::state::{AppState, Start};
use crate::telemetry::redact;

/// Runs `catalogue query` (`export = false`) or `catalogue export`.
pub async fn query(export: bool, args: CatalogueArgs, start: Start) -> Exit {
    let params = super::args::params(&args);
    let state = state(start)?;
    let (mut q, format) = parse::<Recording>(&params, None, state.config.api.max_range_days)
        .map_err(|e| fail(2, e.detail()))?;
    known_host(&state, &q).await?;
    let mut sink: Box<dyn std::io::Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| fail(2, format!("--out {p}: {e}")))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let (mut total, mut first) = (0usize, true);
    loop {
        let found = page::page::<Recording>(state.ports.tables.as_ref(), &q)
            .await
            .map_err(|e| fail(1, format!("query failed: {}", redact(&e.to_string()))))?
            .map_err(|e| fail(2, ApiError::from(e).detail()))?;
        let mut text = String::new();
        if first && format == Format::Csv {
            text = Recording::csv_header();
        }
        first = false;
        total += found.rows.len();
        for r in &found.rows {
            match format {
                Format::Csv => text.push_str(&r.csv_line(None)),
                Format::Json => text.push_str(&format!("{}\n", r.json(None))),
            }
        }
        sink.write_all(text.as_bytes())
            .map_err(super::exit::written)?;
        match found.next {
            Some(t) if export => q.continuation = Some(t),
            Some(t) => {
                eprintln!("continuation: {t}");
                break;
            }
            None => break,
        }
    }
    sink.flush().map_err(super::exit::written)?;
    eprintln!("{total} recording(s)");
    Ok(ExitCode::SUCCESS)
}

/// `--bastion` naming no host is refused, naming those there are (as `evidence --bastion` is): a
/// misspelt host would otherwise list nothing and look like a quiet period.
async fn known_host(state: &AppState, q: &Query) -> Result<(), ExitCode> {
    match q.wants("bastion") {
        Some(name) => known_bastion(&state.ports, name, q.from, q.to)
            .await
            .map_err(|e| match e {
                BastionCheck::Unknown { .. } => fail(2, format!("bastion: {e}")),
                BastionCheck::Storage(_) => {
                    fail(1, format!("query failed: {}", redact(&e.to_string())))
                }
            }),
        None => Ok(()),
    }
}

/// `3 intact, 1 findings`: the counts in a fixed order, the empty ones left out.
fn tally(counts: &HashMap<&str, usize>) -> String {
    let said: Vec<String> = ["intact", "findings", "unhashed", "expired", "errors"]
        .iter()
        .filter_map(|k| counts.get(k).map(|n| format!("{n} {k}")))
        .collect();
    if said.is_empty() {
        "no recordings in the range".to_owned()
    } else {
        said.join(", ")
    }
}

/// Runs `verify`.
pub async fn verify(args: VerifyArgs, start: Start) -> Exit {
    let params = super::args::params(&args.filters);
    let sample = match args.sample {
        None => Sample::All,
        Some(n) => Sample::OneIn(n, uuid::Uuid::new_v4().to_string()),
    };
    let (q, _) = parse::<Recording>(&params, None, 366).map_err(|e| fail(2, e.detail()))?;
    let state = state(start)?;
    known_host(&state, &q).await?;
    let now = state.ports.clock.now();
    let (mut counts, mut findings) = (HashMap::<&str, usize>::new(), 0usize);
    for day in q.recording_days() {
        let rows: Vec<Recording> = page::day(state.ports.tables.as_ref(), &day, &q)
            .await
            .map_err(|e| fail(1, format!("day {day}: {e}")))?;
        for r in rows.iter().filter(|r| sample.picks(&r.id())) {
            let label = match verify_recording(&state.ports, r, now).await {
                Ok(Verdict::Finding(f)) => {
                    findings += 1;
                    for m in crate::spine::messages([f]) {
                        super::exit::print(format_args!("{m}\n"))?;
                    }
                    "findings"
                }
                Ok(Verdict::Intact) => "intact",
                Ok(Verdict::Unhashed) => "unhashed",
                Ok(Verdict::Expired) => "expired",
                Err(e) => {
                    eprintln!("{}", redact(&e.to_string()));
                    "errors"
                }
            };
            *counts.entry(label).or_default() += 1;
        }
    }
    eprintln!("verify: {}", tally(&counts));
    Ok(ExitCode::from(u8::from(
        findings > 0 || counts.contains_key("errors"),
    )))
}
