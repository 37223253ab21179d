//! `handler evidence`: write a period's signed evidence pack into a directory (the same code as
//! `GET /api/evidence` and the `EvidencePack` timer), print the public key that verifies packs,
//! and verify a pack directory (exit 1, naming each mismatch).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::exit::{Exit, fail};
use crate::catalogue::query::Query;
use crate::config::evidence_key;
use crate::evidence::options::PackOptions;
use crate::evidence::pack::write_pack;
use crate::evidence::pdf::{Chromium, Print};
use crate::evidence::verify::verify_dir;
use crate::pack::key::{HOW_TO_VERIFY, SETTING, parse_public};
use crate::state::Start;

/// `evidence`: a pack (no subcommand), or `public-key` / `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvidenceArgs {
    /// `public-key` or `verify`; none writes a pack.
    #[command(subcommand)]
    pub command: Option<EvidenceCommand>,
    /// The pack to write.
    #[command(flatten)]
    pub pack: PackArgs,
}

/// `evidence --from --to [--bastion] --out`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct PackArgs {
    /// The period.
    #[command(flatten)]
    pub range: super::args::Range,
    /// One Bastion host only.
    #[arg(long)]
    pub bastion: Option<String>,
    /// The directory to write (created; it must not hold a pack already).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not print `report.pdf` even when Chromium is installed.
    #[arg(long)]
    pub no_pdf: bool,
    /// Print the files and figures as JSON instead of the short summary.
    #[arg(long)]
    pub json: bool,
}

/// The other evidence commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum EvidenceCommand {
    /// Print the public key of `EVIDENCE_SIGNING_KEY` (base64, then SPKI PEM).
    PublicKey,
    /// Check a pack: the signature over manifest.json, every file's size and SHA-256.
    Verify(VerifyPackArgs),
}

/// `evidence verify DIR`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct VerifyPackArgs {
    /// The pack directory.
    pub dir: PathBuf,
    /// The published public key (base64 or PEM); default: that of `EVIDENCE_SIGNING_KEY`. Without
    /// either, `verify` refuses: the key a pack names itself proves nothing about its signer.
    #[arg(long)]
    pub public_key: Option<String>,
}

/// Runs `evidence`.
pub async fn run(args: EvidenceArgs, start: Start) -> Exit {
    match args.command {
        Some(EvidenceCommand::PublicKey) => public_key(),
        Some(EvidenceCommand::Verify(v)) => verify(&v),
        None => pack(args.pack, start).await,
    }
}

fn public_key() -> Exit {
    let k = evidence_key()
        .map_err(|e| fail(2, e))?
        .ok_or_else(|| fail(2, format!("{SETTING} is not set")))?;
    super::exit::print(format_args!("{}\n{}", k.public_base64(), k.public_pem()))?;
    Ok(ExitCode::SUCCESS)
}

fn verify(args: &VerifyPackArgs) -> Exit {
    let key = match &args.public_key {
        Some(text) => Some(parse_public(text).map_err(|e| fail(2, e))?),
        None => evidence_key().map_err(|e| fail(2, e))?.map(|k| k.public()),
    };
    let key = key.ok_or_else(|| {
        fail(
            2,
            format!("evidence verify: no public key: {HOW_TO_VERIFY}"),
        )
    })?;
    let v = verify_dir(&args.dir, Some(&key));
    for p in &v.problems {
        eprintln!("MISMATCH {p}");
    }
    super::exit::print(format_args!(
        "{}\n",
        serde_json::json!({"verified": v.ok(), "key": v.key, "checked": v.checked, "problems": v.problems})
    ))?;
    Ok(ExitCode::from(u8::from(!v.ok())))
}

async fn pack(args: PackArgs, start: Start) -> Exit {
    let (Some(from), Some(to), Some(out)) = (args.range.from, args.range.to, args.out) else {
        let why =
            "evidence: --from, --to and --out are required (or a subcommand: public-key, verify)";
        return Err(fail(2, why));
    };
    if let Some(why) = taken(&out) {
        return Err(fail(2, why));
    }
    let params = HashMap::from([("from".to_owned(), from), ("to".to_owned(), to)]);
    // The API's range rules, without its page-range limit: a pack may cover a quarter or a year.
    let q = Query::parse(&params, 3660, &[], &[]).map_err(|e| fail(2, format!("evidence: {e}")))?;
    let state = super::exit::state(start)?;
    let key = (state.config.evidence_key.clone())
        .ok_or_else(|| fail(2, format!("{SETTING} is not set: a pack cannot be signed")))?;
    let now = state.ports.clock.now();
    let config = &state.config;
    let opts = PackOptions::new(
        (q.from, q.to),
        args.bastion,
        now,
        &config.reviews,
        &config.audit,
    )
    .with_custody(config.custody.workspace.as_deref(), state.logs.as_ref())
    .with_paper(config.evidence_paper);
    crate::evidence::hosts::check_bastion(&state.ports, &opts)
        .await
        .map_err(|unknown| fail(2, format!("evidence: {unknown}")))?;
    let chromium = if args.no_pdf { None } else { Chromium::find() };
    let print = match (&chromium, args.no_pdf) {
        (_, true) => Print::NotAsked,
        (Some(c), false) => Print::With(c),
        (None, false) => Print::NoChromium,
    };
    let m = write_pack(&out, &state.ports, &key, &opts, print)
        .await
        .map_err(|e| {
            let e = crate::telemetry::redact(&format!("{e:#}"));
            fail(1, format!("evidence pack failed: {e}"))
        })?;
    let dir = out.display().to_string();
    if args.json {
        let doc = super::evidence_summary::json(&dir, &m);
        super::exit::print_json(&doc)?;
    } else {
        super::exit::print(super::evidence_summary::summary(&dir, &m))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Why `--out` cannot take a pack: a file, or a directory holding anything (a pack is never
/// written over or mixed with other files); `None` for a new or empty directory.
fn taken(out: &std::path::Path) -> Option<String> {
    let shown = out.display();
    if out.is_file() {
        return Some(format!(
            "evidence: --out {shown} is a file: name a new directory for the pack"
        ));
    }
    let used = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
    used.then(|| {
        format!(
            "evidence: --out {shown} already exists and is not empty (a pack is never written over): name a new directory, or move that one away first"
        )
    })
}
