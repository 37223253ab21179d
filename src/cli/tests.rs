//! Command-line parsing: subcommands, flags, and the mistakes that must be errors.

use super::*;

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn no_arguments_serves_and_subcommands_parse() {
    assert_eq!(parse(&[]), Ok(Command::Serve));
    assert_eq!(
        parse(&args(&["lifecycle-policy"])),
        Ok(Command::LifecyclePolicy)
    );
    assert_eq!(
        parse(&args(&["sweep", "--dry-run"])),
        Ok(Command::Sweep { dry_run: true })
    );
    assert_eq!(
        parse(&args(&["sweep", "--execute"])),
        Ok(Command::Sweep { dry_run: false })
    );
    assert_eq!(parse(&args(&["--help"])), Ok(Command::Help));
    assert_eq!(
        parse(&args(&[
            "catalogue",
            "export",
            "--from",
            "2025-03-01",
            "--vm=a=b"
        ])),
        Ok(Command::Catalogue {
            export: true,
            flags: vec![
                ("from".into(), "2025-03-01".into()),
                ("vm".into(), "a=b".into())
            ]
        })
    );
    let Ok(Command::Backfill { flags }) = parse(&args(&[
        "backfill",
        "--from",
        "2025-01-01",
        "--to=2025-01-31",
        "--dry-run",
        "--recordings-only",
        "--concurrency",
        "3",
        "--limit",
        "5",
    ])) else {
        panic!("backfill parses")
    };
    let o = backfill::options(&flags).expect("options");
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
    let Ok(Command::Backfill { flags }) = parse(&args(&[
        "backfill",
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-01",
    ])) else {
        panic!("backfill parses")
    };
    let o = backfill::options(&flags).expect("options");
    assert_eq!(o.concurrency, crate::backfill::DEFAULT_CONCURRENCY);
    assert_eq!(o.kinds.len(), 2, "audit logs first, then recordings");
    assert!(matches!(
        parse(&args(&["verify", "--sample", "10"])),
        Ok(Command::Verify { .. })
    ));
    assert_eq!(
        parse(&args(&[
            "hold",
            "set",
            "--recording",
            "d~k",
            "--reason=r r"
        ])),
        Ok(Command::Hold {
            action: hold::HoldAction::Set,
            flags: vec![
                ("recording".into(), "d~k".into()),
                ("reason".into(), "r r".into())
            ]
        })
    );
    assert!(matches!(
        parse(&args(&["hold", "list"])),
        Ok(Command::Hold {
            action: hold::HoldAction::List,
            ..
        })
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
        &["hold"],
        &["hold", "put"],
        &["hold", "set", "--reason"],
        &["backfill"],
        &["backfill", "--from", "2025-01-01"],
        &["backfill", "--from", "2025-02-01", "--to", "2025-01-01"],
        &[
            "backfill",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
            "--concurrency",
            "0",
        ],
        &[
            "backfill",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
            "--limit",
            "x",
        ],
        &[
            "backfill",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
            "--bogus",
        ],
        &[
            "backfill",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
            "--recordings-only",
            "--audit-logs-only",
        ],
    ] {
        assert!(parse(&args(bad)).is_err(), "{bad:?}");
    }
    assert!(usage().contains("sweep --dry-run"));
    assert!(usage().contains("handler hold set|release") && usage().contains("hold list"));
}
