//! The signer, as an auditor meets it: the report's first page names the key that signs the pack
//! (its fingerprint and the public key) and how to check it; `handler evidence verify` without a
//! key refuses with that sentence (exit 2) instead of trusting the key the pack names itself; the
//! summary suggests only the keyed form; with `TEST_UI=1` (Chromium, poppler-utils) the printed
//! `report.pdf` names the fingerprint on page 1 and is the owner's only (0600) like every file.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::Digest as _;

use crate::first_hour::handler;

/// base64 of the seed [7; 32].
const KEY: (&str, &str) = (
    "EVIDENCE_SIGNING_KEY",
    "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
);

/// The public key `handler evidence public-key` prints (base64) and its SHA-256 fingerprint,
/// computed here from the key's bytes.
fn published() -> (String, String) {
    let (code, out, err) = handler(&["evidence", "public-key"], &[KEY]);
    assert_eq!(code, Some(0), "{err}");
    let b64 = out.lines().next().expect("base64 line").to_owned();
    let bytes = STANDARD.decode(&b64).expect("base64");
    let fp = format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha2::Sha256::digest(&bytes))
    );
    (b64, fp)
}

fn pack(dir: &std::path::Path, pdf: bool) -> String {
    let d = dir.to_str().expect("utf-8");
    let mut args = vec![
        "evidence",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
        "--out",
        d,
    ];
    if !pdf {
        args.push("--no-pdf");
    }
    let (code, out, err) = crate::first_hour::in_memory(&args, &[KEY]);
    assert_eq!(code, Some(0), "{out}{err}");
    out
}

#[test]
fn the_report_names_the_signer_and_verify_wants_the_published_key() {
    let (b64, fp) = published();
    let dir = std::env::temp_dir().join(crate::harness::unique("evidence-signer"));
    let d = dir.to_str().expect("utf-8");
    let out = pack(&dir, false);
    assert!(
        out.contains(&format!("`handler evidence verify {d} --public-key {b64}`"))
            && !out.contains(&format!("verify {d}`")),
        "only the keyed form: {out}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let signer = html.find(&fp).expect("the fingerprint on the report");
    assert!(
        signer < html.find("<h2").expect("a section"),
        "before the first section"
    );
    for words in [b64.as_str(), "handler evidence public-key", "--public-key"] {
        assert!(html.contains(words), "{words} in the report's signer line");
    }

    // No key to check against: refused, exit 2, with how to get one.
    let (code, stdout, err) = handler(&["evidence", "verify", d], &[]);
    assert_eq!(code, Some(2), "{stdout}{err}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        err.starts_with("evidence verify: no public key: verify it with the public key the operator publishes (`handler evidence public-key` prints it")
            && err.contains("compare its fingerprint with the one on the report's first page")
            && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = handler(&["evidence", "verify", d, "--public-key", &b64], &[]);
    assert_eq!(code, Some(0), "the published key verifies: {err}");
    let other = STANDARD.encode(
        ed25519_dalek::SigningKey::from_bytes(&[9; 32])
            .verifying_key()
            .as_bytes(),
    );
    let (code, _, err) = handler(&["evidence", "verify", d, "--public-key", &other], &[]);
    assert_eq!(code, Some(1), "another key does not: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_printed_report_names_the_fingerprint_on_page_one_and_is_the_owners_only() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return;
    }
    let (_, fp) = published();
    let dir = std::env::temp_dir().join(crate::harness::unique("evidence-signer-pdf"));
    pack(&dir, true);
    let pdf = dir.join("report.pdf");
    let first = super::report::tool(
        "pdftotext",
        &[
            "-layout",
            "-f",
            "1",
            "-l",
            "1",
            pdf.to_str().expect("utf-8"),
            "-",
        ],
    );
    assert!(first.contains(&fp), "{fp} on page 1:\n{first}");
    use std::os::unix::fs::PermissionsExt as _;
    for f in std::fs::read_dir(&dir).expect("pack") {
        let f = f.expect("entry");
        let mode = f.metadata().expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?}", f.file_name());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
