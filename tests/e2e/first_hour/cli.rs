//! The command line says plain sentences: no Rust debug text, the API's filters, a short summary
//! of an evidence pack (its JSON behind `--json`), and a failed command its one sentence with no
//! log line above it unless `RUST_LOG` asks for one.

use super::{handler, in_memory};

const LOGS: (&str, &str) = ("RUST_LOG", "warn");
/// One recording source tied to host `bas-hub-weu`: the host `--bastion` knows with no session.
const SOURCES: (&str, &str) = (
    "RECORDINGS_SOURCES",
    "AzureWebJobsStorage:recordings@bas-hub-weu",
);
/// base64 of the seed [7; 32].
const KEY: (&str, &str) = (
    "EVIDENCE_SIGNING_KEY",
    "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
);

#[test]
fn every_command_ends_quietly_on_a_closed_pipe() {
    // `handler … | head -1`: the reader has gone before the command writes.
    let dir = std::env::temp_dir().join(crate::harness::unique("first-hour-pipe"));
    let d = dir.to_str().expect("utf-8");
    let day = ["--from", "2026-01-01", "--to", "2026-01-01"];
    let (code, _, err) = in_memory(
        &[&["evidence"][..], &day, &["--no-pdf", "--out", d]].concat(),
        &[KEY],
    );
    assert_eq!(code, Some(0), "{err}");
    let second = format!("{d}-2");
    let commands: [Vec<&str>; 8] = [
        vec!["evidence", "public-key"],
        vec!["evidence", "verify", d],
        vec!["lifecycle-policy"],
        [&["catalogue", "query", "--format", "csv"][..], &day].concat(),
        [&["catalogue", "export", "--format", "csv"][..], &day].concat(),
        vec!["sweep", "--dry-run"],
        vec!["hold", "list"],
        [&["evidence", "--no-pdf", "--out", &second][..], &day].concat(),
    ];
    for args in &commands {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = std::process::Command::new(crate::harness::in_memory_handler())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs([KEY])
            .stdout(writer)
            .output()
            .expect("run handler");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
    for d in [dir.clone(), std::path::PathBuf::from(second)] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn catalogue_commands_refuse_an_unknown_host_and_a_malformed_ip() {
    let day = ["--from", "2026-01-01", "--to", "2026-01-01"];
    let env = [LOGS, SOURCES];
    for cmd in [
        &["catalogue", "query"][..],
        &["catalogue", "export"],
        &["verify"],
    ] {
        let (code, out, err) = in_memory(&[cmd, &day, &["--bastion", "nosuchhost"]].concat(), &env);
        assert_eq!(code, Some(2), "{cmd:?}: {out}{err}");
        assert_eq!(
            err.trim_end(),
            "bastion: no Bastion host is named \"nosuchhost\": the hosts of the period's sessions and of the recording sources are \"bas-hub-weu\"",
            "{cmd:?}"
        );
        assert!(out.is_empty(), "{cmd:?}: {out}");
        let (code, out, err) = in_memory(&[cmd, &day, &["--ip", "not-an-ip"]].concat(), &env);
        assert_eq!(code, Some(2), "{cmd:?}: {out}{err}");
        assert_eq!(
            err.trim_end(),
            "ip: not an IP address (e.g. 203.0.113.7 or 2001:db8::7)",
            "{cmd:?}"
        );
    }
    for ip in ["203.0.113.7", "2001:db8::7"] {
        let (code, _, err) = in_memory(
            &[&["catalogue", "query"][..], &day, &["--ip", ip]].concat(),
            &env,
        );
        assert_eq!(code, Some(0), "{ip}: {err}");
    }
}

#[test]
fn an_existing_out_folder_is_one_sentence_naming_it_and_the_fix() {
    let dir = std::env::temp_dir().join(crate::harness::unique("first-hour-taken"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("a file of the user's");
    let d = dir.to_str().expect("utf-8");
    let args = [
        "evidence",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-01",
        "--no-pdf",
        "--out",
        d,
    ];
    let (code, out, err) = in_memory(&args, &[KEY]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "evidence: --out {d} already exists and is not empty (a pack is never written over): name a new directory, or move that one away first"
        )
    );
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        1,
        "nothing written into it"
    );
    let file = dir.join("notes.txt");
    let f = file.to_str().expect("utf-8");
    let (code, _, err) = in_memory(&[&args[..7], &[f]].concat(), &[KEY]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        format!("evidence: --out {f} is a file: name a new directory for the pack")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_flag_is_a_plain_sentence_naming_it() {
    for (args, want) in [
        (
            &["catalogue", "query", "--from", "2026-01-01"][..],
            "to: required (YYYY-MM-DD or RFC 3339)",
        ),
        (
            &[
                "catalogue",
                "query",
                "--from",
                "2026-13-01",
                "--to",
                "2026-01-01",
            ][..],
            "from: not a date (YYYY-MM-DD) or RFC 3339 time",
        ),
        (
            &["verify", "--from", "2026-01-01"][..],
            "to: required (YYYY-MM-DD or RFC 3339)",
        ),
    ] {
        let (code, out, err) = in_memory(args, &[LOGS]);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert_eq!(err.trim_end(), want, "{args:?}");
        assert!(!err.contains("BadRequest") && !err.contains("(\""), "{err}");
    }
}

#[test]
fn catalogue_query_takes_the_bastion_and_account_filters() {
    let (code, out, err) = handler(&["catalogue", "query", "--help"], &[]);
    assert_eq!(code, Some(0), "{err}");
    for flag in [
        "--bastion",
        "--account",
        "--user",
        "--vm",
        "--ip",
        "--status",
        "--class",
        "--confidence",
        "--protocol",
    ] {
        assert!(out.contains(flag), "{flag} in {out}");
    }
    let (code, _, err) = in_memory(
        &[
            "catalogue",
            "query",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-01",
            "--bastion",
            "bas-hub-weu",
            "--account",
            "stweu",
        ],
        &[LOGS, SOURCES],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 recording(s)"), "{err}");
}

#[test]
fn evidence_prints_a_short_summary_and_the_json_behind_a_flag() {
    // base64 of the seed [7; 32].
    let key = (
        "EVIDENCE_SIGNING_KEY",
        "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
    );
    let dir = std::env::temp_dir().join(crate::harness::unique("first-hour-pack"));
    let d = dir.to_str().expect("utf-8");
    let env = [LOGS, key];
    let args = [
        "evidence",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
        "--no-pdf",
    ];
    let (code, out, err) = in_memory(&[&args[..], &["--out", d]].concat(), &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.lines().count() <= 6, "a short summary: {out}");
    assert!(out.starts_with("Evidence pack for "), "{out}");
    assert!(
        out.contains(&format!("written to {d}")) && out.contains("Figures: 0 sessions"),
        "{out}"
    );
    assert!(!out.contains('{'), "no JSON without --json: {out}");

    let json_dir = dir.with_extension("json");
    let j = json_dir.to_str().expect("utf-8");
    let (code, out, err) = in_memory(&[&args[..], &["--out", j, "--json"]].concat(), &env);
    assert_eq!(code, Some(0), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(v["total"]["sessions"], 0, "{v}");
    for d in [&dir, &json_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_failed_command_says_one_sentence_and_logs_only_when_asked() {
    let storage = super::dead_storage();
    let key = (
        "EVIDENCE_SIGNING_KEY",
        "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
    );
    let env = [
        ("AzureWebJobsStorage", storage.as_str()),
        ("CATALOGUE_AUTH", "none"),
        key,
    ];
    let dir = std::env::temp_dir().join(crate::harness::unique("first-hour-failed"));
    let d = dir.to_str().expect("utf-8");
    let period = ["--from", "2026-01-01", "--to", "2026-01-02"];
    let query = [&["catalogue", "query"][..], &period].concat();
    let evidence = [&["evidence"][..], &period, &["--no-pdf", "--out", d]].concat();
    let verify = [&["verify"][..], &period].concat();
    for args in [&query, &evidence, &verify] {
        let (code, out, err) = handler(args, &env);
        assert!(code.is_some_and(|c| c != 0), "{args:?} fails: {out}{err}");
        // Nothing but the command's one sentence: no log line above it.
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            !err.contains(" WARN ") && !err.contains(" ERROR ") && !err.contains(" INFO "),
            "{args:?}: {err}"
        );
        assert!(out.trim().is_empty(), "{args:?}: {out}");
    }
    let (_, _, said) = handler(&query, &env);
    // The sentence says where: the call, the endpoint and the setting.
    assert!(
        said.starts_with("query failed: Query Entities on 127.0.0.1:")
            && said.contains("(AzureWebJobsStorage)"),
        "{said}"
    );
    // Asked for, the log lines come to stderr, the sentence still last.
    let asked = [env[0], env[1], ("RUST_LOG", "warn")];
    let (_, _, err) = handler(&query, &asked);
    assert!(err.contains(" WARN "), "RUST_LOG=warn logs: {err}");
    assert_eq!(err.lines().last(), said.lines().last(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
