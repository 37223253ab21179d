//! Command-line parsing: every subcommand's accepted and rejected argument lists.

use std::collections::HashMap;

use clap::{CommandFactory as _, Parser as _};

use super::args::params;
use super::commands::{CatalogueCommand, Command};
use super::*;

fn parse(a: &[&str]) -> Result<Option<Command>, clap::Error> {
    Cli::try_parse_from(std::iter::once("handler").chain(a.iter().copied())).map(|c| c.command)
}

fn backfill(a: &[&str]) -> Result<crate::backfill::Options, String> {
    let argv: Vec<&str> = std::iter::once("backfill")
        .chain(a.iter().copied())
        .collect();
    match parse(&argv).map_err(|e| e.to_string())? {
        Some(Command::Backfill(b)) => backfill::options(&b),
        other => Err(format!("{other:?}")),
    }
}

#[test]
fn the_command_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn no_arguments_serves_and_subcommands_parse() {
    assert_eq!(parse(&[]).expect("serve"), None);
    assert_eq!(
        parse(&["lifecycle-policy"]).expect("ok"),
        Some(Command::LifecyclePolicy)
    );
    let sweep = |a: &[&str]| match parse(a).expect("sweep") {
        Some(Command::Sweep(s)) => s.dry_run,
        other => panic!("{other:?}"),
    };
    assert!(sweep(&["sweep", "--dry-run"]));
    assert!(!sweep(&["sweep", "--execute"]));
    let Some(Command::Catalogue(CatalogueCommand::Export(args))) =
        parse(&["catalogue", "export", "--from", "2025-03-01", "--vm=a=b"]).expect("export")
    else {
        panic!("catalogue export parses")
    };
    assert_eq!(
        params(&args),
        HashMap::from([
            ("from".to_owned(), "2025-03-01".to_owned()),
            ("vm".to_owned(), "a=b".to_owned())
        ])
    );
    let o = backfill(&[
        "--from",
        "2025-01-01",
        "--to=2025-01-31",
        "--dry-run",
        "--recordings-only",
        "--concurrency",
        "3",
        "--limit",
        "5",
    ])
    .expect("backfill");
    assert_eq!(
        o.to - o.from,
        time::Duration::days(31),
        "a bare --to date is inclusive"
    );
    assert_eq!(
        (o.concurrency, o.limit, o.dry_run, o.restart),
        (3, Some(5), true, false)
    );
    assert_eq!(o.kinds, [crate::backfill::Kind::Recordings]);
    let o = backfill(&["--from", "2025-01-01", "--to", "2025-01-01"]).expect("backfill");
    assert_eq!(o.concurrency, crate::backfill::DEFAULT_CONCURRENCY);
    assert_eq!(o.kinds.len(), 2, "audit logs first, then recordings");
    let Some(Command::Verify(v)) = parse(&["verify", "--sample", "10", "--user", "u"]).expect("v")
    else {
        panic!("verify parses")
    };
    assert_eq!((v.sample, v.filters.user.as_deref()), (Some(10), Some("u")));
    assert!(matches!(
        parse(&["hold", "list"]).expect("list"),
        Some(Command::Hold(hold::HoldCommand::List { recording: None }))
    ));
}

#[test]
fn mistakes_are_errors() {
    for bad in [
        &["sweep"][..],
        &["sweep", "--dry-run", "--execute"],
        &["sweep", "--dryrun"],
        &["lifecycle-policy", "x"],
        &["nope"],
        &["catalogue"],
        &["catalogue", "list"],
        &["catalogue", "query", "--from"],
        &["catalogue", "query", "stray"],
        &["catalogue", "query", "--bogus", "1"],
        &["backfill"],
        &["backfill", "--from", "2025-01-01"],
        &["verify", "--sample", "0"],
        &["hold"],
        &["hold", "put"],
        &["hold", "set", "--reason"],
        &["hold", "set", "--reason", "r"],
        &["hold", "list", "--user", "u"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    for bad in [
        &["--from", "2025-02-01", "--to", "2025-01-01"][..],
        &[
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
            "--concurrency",
            "0",
        ],
        &["--from", "2025-01-01", "--to", "2025-02-01", "--limit", "x"],
        &["--from", "2025-01-01", "--to", "2025-02-01", "--bogus"],
        &[
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
            "--recordings-only",
            "--audit-logs-only",
        ],
    ] {
        assert!(backfill(bad).is_err(), "{bad:?}");
    }
    let help = Cli::command().render_long_help().to_string();
    for sub in [
        "sweep",
        "catalogue",
        "backfill",
        "hold",
        "verify",
        "lifecycle-policy",
    ] {
        assert!(help.contains(sub), "{sub} missing from --help");
    }
}

#[test]
fn catalogue_help_has_every_filter_the_api_list_takes() {
    use crate::catalogue::query::Listed as _;
    use crate::catalogue::recording::Recording;
    let mut cmd = Cli::command();
    let query = cmd
        .find_subcommand_mut("catalogue")
        .and_then(|c| c.find_subcommand_mut("query"))
        .expect("catalogue query");
    let help = query.render_long_help().to_string();
    for param in Recording::FILTERS.iter().chain(&["from", "to", "limit"]) {
        assert!(help.contains(&format!("--{param} ")), "--{param} in {help}");
    }
    let Some(Command::Catalogue(CatalogueCommand::Query(args))) = parse(&[
        "catalogue",
        "query",
        "--bastion",
        "bas-hub-weu",
        "--account",
        "stweu",
    ])
    .expect("query") else {
        panic!("not a query")
    };
    let params = params(&args);
    assert_eq!(params["bastion"], "bas-hub-weu");
    assert_eq!(params["account"], "stweu");
}

#[test]
fn a_bad_flag_is_a_plain_sentence_not_debug_text() {
    let e = crate::api::problem::ApiError::bad("to", "required (YYYY-MM-DD or RFC 3339)");
    assert_eq!(e.detail(), "to: required (YYYY-MM-DD or RFC 3339)");
    assert!(!e.to_string().contains("BadRequest"), "{e}");
}
