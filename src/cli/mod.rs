//! The `handler` binary's command line. No arguments = serve (how the Functions host starts it);
//! a subcommand runs once and exits.
//!
//! Hand-rolled on purpose (a handful of flags; no dependency). To add a subcommand: a [`Command`]
//! variant, one [`Spec`] line in [`COMMANDS`] with its flag parser, and one arm in
//! [`commands::run`].

pub mod backfill;
pub mod catalogue;
pub mod commands;
pub mod hold;

/// What the process should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve invocations (no arguments).
    Serve,
    /// Print usage.
    Help,
    /// Print the lifecycle-management policy JSON generated from the retention policy.
    LifecyclePolicy,
    /// Run the retention sweep once against the configured storage and print its digest.
    Sweep {
        /// Report only.
        dry_run: bool,
    },
    /// `catalogue query|export --from … --to … [filters]`: catalogue rows as JSON lines or CSV.
    Catalogue {
        /// Follow continuations to the end (`export`) rather than one page (`query`).
        export: bool,
        /// Flags, as `(name, value)`.
        flags: Vec<(String, String)>,
    },
    /// `backfill --from … --to … [--concurrency N] [--recordings-only|--audit-logs-only] [--dry-run]
    /// [--restart] [--limit N]`: catalogue and tail what already exists.
    Backfill {
        /// Flags, as `(name, value)` (switches as `"true"`).
        flags: Vec<(String, String)>,
    },
    /// `hold set|release|list [--recording ID | --blob URL | --from D --to D …] --reason R --by W`.
    Hold {
        /// set, release or list.
        action: hold::HoldAction,
        /// Flags, as `(name, value)`.
        flags: Vec<(String, String)>,
    },
    /// `verify --from … --to … [--sample N]`: re-hash and report tampered or missing recordings.
    Verify {
        /// Flags, as `(name, value)`.
        flags: Vec<(String, String)>,
    },
}

/// One subcommand: its name, usage line and flag parser.
pub struct Spec {
    /// Subcommand name.
    pub name: &'static str,
    /// Usage text (flags and one-line description).
    pub usage: &'static str,
    /// Parses the arguments after the name.
    pub parse: fn(&[String]) -> Result<Command, String>,
}

/// Every subcommand.
pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "lifecycle-policy",
        usage: "lifecycle-policy            print the Azure lifecycle-management policy JSON",
        parse: parse_lifecycle,
    },
    Spec {
        name: "sweep",
        usage: "sweep --dry-run | --execute  run RetentionSweep once now; --dry-run deletes nothing",
        parse: parse_sweep,
    },
    Spec {
        name: "catalogue",
        usage: "catalogue query|export --from D --to D [--user U --vm V --format csv --out F …]",
        parse: parse_catalogue,
    },
    Spec {
        name: "backfill",
        usage: "backfill --from D --to D [--concurrency N] [--recordings-only|--audit-logs-only] [--dry-run] [--restart] [--limit N] [--hash]",
        parse: backfill::parse,
    },
    Spec {
        name: "hold",
        usage: "hold set|release --recording ID | --blob URL | --from D --to D [--user U --vm V --session S]\n                   --reason R --by WHO [--id HOLD]   set/release a legal hold (as /api/holds)\n       handler hold list [--recording ID]       active holds, or one recording's",
        parse: |rest| {
            Ok(Command::Hold {
                action: hold::action(rest.first().map(String::as_str))?,
                flags: catalogue::flags(rest.get(1..).unwrap_or_default())?,
            })
        },
    },
    Spec {
        name: "verify",
        usage: "verify --from D --to D [--sample N]  re-hash recordings; report tampered/missing",
        parse: |rest| {
            Ok(Command::Verify {
                flags: catalogue::flags(rest)?,
            })
        },
    },
];

/// Parses the arguments after the program name.
///
/// # Errors
/// A message for unknown subcommands or flags.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((first, rest)) = args.split_first() else {
        return Ok(Command::Serve);
    };
    if matches!(first.as_str(), "help" | "-h" | "--help") {
        return Ok(Command::Help);
    }
    let spec = COMMANDS
        .iter()
        .find(|s| s.name == first)
        .ok_or_else(|| format!("unknown subcommand `{first}`"))?;
    (spec.parse)(rest)
}

/// The usage text.
pub fn usage() -> String {
    let mut s =
        String::from("usage: handler                 serve (started by the Functions host)\n");
    for c in COMMANDS {
        s.push_str(&format!("       handler {}\n", c.usage));
    }
    s
}

fn no_flags(rest: &[String], cmd: Command) -> Result<Command, String> {
    match rest.first() {
        None => Ok(cmd),
        Some(f) => Err(format!("unexpected argument `{f}`")),
    }
}

fn parse_lifecycle(rest: &[String]) -> Result<Command, String> {
    no_flags(rest, Command::LifecyclePolicy)
}

fn parse_sweep(rest: &[String]) -> Result<Command, String> {
    // Deleting needs an explicit `--execute`: a bare `sweep` typed to "have a look" deletes nothing.
    match rest {
        [f] if f == "--dry-run" => Ok(Command::Sweep { dry_run: true }),
        [f] if f == "--execute" => Ok(Command::Sweep { dry_run: false }),
        _ => Err("sweep needs exactly one of --dry-run or --execute".to_owned()),
    }
}

fn parse_catalogue(rest: &[String]) -> Result<Command, String> {
    let export = match rest.first().map(String::as_str) {
        Some("query") => false,
        Some("export") => true,
        _ => return Err("catalogue needs `query` or `export`".to_owned()),
    };
    Ok(Command::Catalogue {
        export,
        flags: catalogue::flags(&rest[1..])?,
    })
}

#[cfg(test)]
mod tests;
