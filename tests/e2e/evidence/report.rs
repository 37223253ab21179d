//! The auditor's report end to end on Azurite, through the real `handler`: `--bastion` with a name
//! no host goes by is an error naming the hosts there are (and writes nothing; the API answers
//! 400); `--no-pdf` makes the signed manifest say the PDF was not asked for; the session-level
//! lists count as the figures do and carry the review's comment. With `TEST_UI=1` (Chromium and
//! poppler-utils from `scripts/browser.sh`) the printed PDF is checked by `pdfinfo`, `pdftotext`
//! and `pdftoppm`: A4 by default and Letter with `EVIDENCE_PAPER`, the accesses table split over
//! pages with its header repeated, "Page n of m", the period and its "not yet over" mark on every
//! page; the pages are kept as PNG under `target/ui/` for a person to look at.

use std::path::Path;

use serde_json::Value;

use super::{cli, get, start, temp};
use crate::catalogue_sessions::{http, seed};

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
        .expect("json")
}

fn csv_rows(dir: &Path, file: &str) -> Vec<csv::StringRecord> {
    let text = std::fs::read_to_string(dir.join(file)).expect(file);
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("row"))
        .collect()
}

#[tokio::test]
async fn an_unknown_bastion_is_refused_naming_the_hosts_and_no_pdf_is_said_not_asked_for() {
    let Some(e) = start().await else { return };
    // On the last day, so the recording uploaded now vouches for Alice's session and the
    // follow-up on it names her, her VM and her host.
    let recording = seed(&e).await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let period = format!("from={}&to={today}", crate::harness::sample_date(-1));
    let review = serde_json::json!({"recording": recording, "verdict": "follow-up", "comment": "=2+2 ask the user", "ticket": "CHG-9"});
    let (s, text, _) = http(
        &e.handler,
        reqwest::Method::POST,
        "/api/reviews?code=k",
        Some(&review),
        &[],
    )
    .await;
    assert_eq!(s, 201, "{text}");
    let sessions: Value =
        serde_json::from_str(&get(&e, &format!("/api/sessions?{period}&limit=1000&code=k")).await)
            .expect("json");
    let hosts: Vec<String> = sessions["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["bastionHost"].as_str())
        .filter(|h| !h.is_empty())
        .map(str::to_lowercase)
        .collect();
    assert!(!hosts.is_empty(), "{sessions}");

    // A name that matches nothing: exit 2, the hosts named, nothing written.
    let dir = temp("evidence-nohost");
    let d = dir.to_str().expect("utf-8");
    // From before the seeded days to today: the review made today is in it.
    let month = ["--from", "2025-03-01", "--to", &today];
    let args = [
        &["evidence"][..],
        &month,
        &["--bastion", "bas-nowhere", "--out", d],
    ]
    .concat();
    let (code, out, err) = cli(&e, &args);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("\"bas-nowhere\""), "{err}");
    for h in &hosts {
        assert!(err.contains(&format!("{h:?}")), "{h} not named: {err}");
    }
    assert!(!dir.exists(), "a pack was written for no host");
    let (s, body, _) = http(
        &e.handler,
        reqwest::Method::GET,
        &format!("/api/evidence?{period}&bastion=bas-nowhere&code=k"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains(&hosts[0]), "{body}");
    // A host of the month, in another case, is one.
    let upper = hosts[0].to_uppercase();
    let args = [
        &["evidence"][..],
        &month,
        &["--bastion", &upper, "--out", d, "--no-pdf"],
    ]
    .concat();
    let (code, out, err) = cli(&e, &args);
    assert_eq!(code, Some(0), "{out}{err}");
    let _ = std::fs::remove_dir_all(&dir);

    // --no-pdf: the signed manifest says it was not asked for (not that Chromium is missing).
    let args = [&["evidence"][..], &month, &["--out", d, "--no-pdf"]].concat();
    let (code, out, err) = cli(&e, &args);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = cli(&e, &["evidence", "verify", d]);
    assert_eq!(code, Some(0), "{out}{err}");
    let m = manifest(&dir);
    let notes = m["notes"].to_string();
    assert!(
        notes.contains("report.pdf not asked for (--no-pdf)"),
        "{notes}"
    );
    assert!(!notes.contains("Chromium"), "{notes}");
    // Without --no-pdf and no Chromium on PATH, it says that instead.
    let other = temp("evidence-nochromium");
    let o = other.to_str().expect("utf-8");
    let (code, out, err) = cli(&e, &[&["evidence"][..], &month, &["--out", o]].concat());
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        manifest(&other)["notes"]
            .to_string()
            .contains("no Chromium on PATH")
    );
    let _ = std::fs::remove_dir_all(&other);

    // The lists count as the figures do; the follow-up carries its comment, ticket and person.
    let total = &m["figures"]["total"];
    let unrecorded = csv_rows(&dir, "unrecorded.csv");
    assert_eq!(Some(unrecorded.len() as u64), total["unrecorded"].as_u64());
    let unreviewed = csv_rows(&dir, "unreviewed.csv");
    let n = |k: &str| total[k].as_u64().expect(k);
    let state = |s: &str| unreviewed.iter().filter(|r| &r[0] == s).count() as u64;
    assert_eq!(
        state("not-reviewed"),
        n("sessions") - n("reviewed"),
        "{total}"
    );
    assert_eq!(
        state("late"),
        n("reviewed") - n("reviewedOnTime"),
        "{total}"
    );
    let findings = csv_rows(&dir, "findings.csv");
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(
        (&f[1], &f[3], &f[4]),
        ("follow-up", "'=2+2 ask the user", "CHG-9")
    );
    assert!(f[5].contains('@'), "the person is the Entra user: {f:?}");
    assert!(!f[7].is_empty() && !f[8].is_empty(), "VM and host: {f:?}");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(
        html.contains("<caption>Incidents and follow-ups (1 in findings.csv)"),
        "{html}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `handler evidence` with Chromium on `PATH` (and `EVIDENCE_PAPER` when given).
fn print(e: &crate::audit_logs::support::Env, dir: &Path, to: &str, paper: Option<&str>) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_handler"));
    cmd.args(["evidence", "--from", "2025-03-01", "--to", to, "--out"])
        .arg(dir)
        .env_clear()
        .envs(e.env.vars.iter())
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    if let Some(p) = paper {
        cmd.env("EVIDENCE_PAPER", p);
    }
    let out = cmd.output().expect("run handler");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(dir.join("report.pdf").is_file(), "{}", text(&out.stdout));
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("a text: {v}"))
}

pub(super) fn tool(name: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} runs (poppler-utils, scripts/browser.sh): {e}"));
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pages(pdf: &str) -> (usize, String) {
    let info = tool("pdfinfo", &[pdf]);
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("{k} in {info}"))
    };
    (
        field("Pages:").parse().expect("a number"),
        field("Page size:"),
    )
}

#[tokio::test]
async fn the_pdf_splits_tables_with_their_headers_and_marks_every_page() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return;
    }
    let Some(e) = start().await else { return };
    // On the last day, so the recording uploaded now vouches for Alice's session and the
    // accesses name her.
    let recording = seed(&e).await;
    // Enough reads today for the accesses table to run over pages.
    for _ in 0..140 {
        get(&e, &format!("/api/recordings/{recording}?code=k")).await;
    }
    // From March 2025 up to today: a period not yet over.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let dir = temp("evidence-pdf");
    print(&e, &dir, &today, None);
    let pdf = dir.join("report.pdf");
    let p = pdf.to_str().expect("utf-8");
    let (n, size) = pages(p);
    assert!(size.contains("(A4)"), "{size}");
    assert!(n >= 3, "{n} pages");
    // The accesses table's header row, its cells however far apart the layout puts them.
    let header = |text: &str| {
        text.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>().join(" ")
                == "At Principal Action Recording Host Person"
        })
    };
    let mut with_header = 0;
    for page in 1..=n {
        let at = page.to_string();
        let text = tool("pdftotext", &["-layout", "-f", &at, "-l", &at, p, "-"]);
        assert!(
            text.contains(&format!("Page {page} of {n}")),
            "page {page}: {text}"
        );
        assert!(
            text.contains("Evidence pack: 2025-03-01T00:00:00Z to"),
            "the period on page {page}: {text}"
        );
        assert!(text.contains("PERIOD NOT YET OVER"), "page {page}: {text}");
        with_header += usize::from(header(&text));
    }
    assert!(
        with_header >= 2,
        "the accesses table's header on {with_header} page(s)"
    );
    // The per-host table's column names are printed whole: a header cell breaks between words,
    // never inside one ("Sessi" / "ons").
    let first = tool("pdftotext", &["-layout", "-f", "1", "-l", "1", p, "-"]);
    let words: Vec<&str> = first.split_whitespace().collect();
    for name in [
        "Sessions",
        "Recorded",
        "Unrecorded",
        "Coverage",
        "logins",
        "Bursts",
        "Reviewed",
        "Overdue",
        "Recordings",
    ] {
        assert!(words.contains(&name), "{name} whole on page 1: {first}");
    }
    // The reads name the recording's blob, host and person, never its opaque id (whitespace and
    // hyphens dropped: a long cell wraps, and pdftotext joins a word broken at its hyphen).
    let (_, detail, _) = http(
        &e.handler,
        reqwest::Method::GET,
        &format!("/api/recordings/{recording}?code=k"),
        None,
        &[],
    )
    .await;
    let detail: Value = serde_json::from_str(&detail).expect("json");
    let detail = &detail["recording"];
    let blob = format!(
        "{}/{}",
        str_of(&detail["container"]),
        str_of(&detail["blobName"])
    );
    let flat = |t: &str| -> String { t.split_whitespace().collect::<String>().replace('-', "") };
    let text = flat(&tool("pdftotext", &[p, "-"]));
    let host = str_of(&detail["bastionHost"]);
    for named in [blob.as_str(), host, "alice@contoso.com"] {
        assert!(
            text.contains(&flat(named)),
            "{named} in the accesses: {text}"
        );
    }
    assert!(
        !text.contains(&flat(&recording)),
        "the id {recording} in the report: {text}"
    );
    // No word of a table broken inside: each cell's words whole, or wrapped after `@`, `/`, `-`.
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let layout = tool("pdftotext", &["-layout", p, "-"]);
    let broken = super::words::broken_words(&html, &layout);
    assert!(
        broken.is_empty(),
        "words broken inside: {broken:?}\n{layout}"
    );
    // The pages as images, for a person to look at; A4's proportions.
    let root = env!("CARGO_MANIFEST_DIR");
    let out = format!("{root}/target/ui");
    std::fs::create_dir_all(&out).expect("target/ui");
    tool(
        "pdftoppm",
        &["-png", "-r", "60", p, &format!("{out}/evidence-pdf")],
    );
    let first = std::fs::read_dir(&out)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|f| f.path())
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("evidence-pdf-"))
        })
        .min()
        .expect("a page image");
    let png = std::fs::read(&first).expect("png");
    let dim = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes"));
    let (w, h) = (f64::from(dim(16)), f64::from(dim(20)));
    assert!((h / w - 297.0 / 210.0).abs() < 0.01, "{w} x {h}");
    let _ = std::fs::remove_dir_all(&dir);

    // EVIDENCE_PAPER=Letter.
    let letter = temp("evidence-pdf-letter");
    print(&e, &letter, "2025-03-31", Some("Letter"));
    let l = letter.join("report.pdf");
    let (n, size) = pages(l.to_str().expect("utf-8"));
    assert!(size.contains("612 x 792"), "{size}");
    let text = tool("pdftotext", &["-layout", l.to_str().expect("utf-8"), "-"]);
    assert!(text.contains(&format!("Page {n} of {n}")), "{text}");
    assert!(!text.contains("NOT YET OVER"), "March is over: {text}");
    let _ = std::fs::remove_dir_all(&letter);
}
