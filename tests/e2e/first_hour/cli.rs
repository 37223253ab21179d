//! The command line says plain sentences: no Rust debug text, the API's filters, a short summary
//! of an evidence pack (its JSON behind `--json`).

use super::handler;

const MEMORY: [(&str, &str); 2] = [("HANDLER_IN_MEMORY", "true"), ("RUST_LOG", "warn")];

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
        let (code, out, err) = handler(args, &MEMORY);
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
    let (code, _, err) = handler(
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
        &MEMORY,
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
    let env = [MEMORY[0], MEMORY[1], key];
    let args = [
        "evidence",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
        "--no-pdf",
    ];
    let (code, out, err) = handler(&[&args[..], &["--out", d]].concat(), &env);
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
    let (code, out, err) = handler(&[&args[..], &["--out", j, "--json"]].concat(), &env);
    assert_eq!(code, Some(0), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(v["total"]["sessions"], 0, "{v}");
    for d in [&dir, &json_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}
