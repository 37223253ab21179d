//! The golden pack: a rich seeded month, packed at a fixed time with a fixed key and zipped, is
//! compared entry by entry with the files under `tests/golden/pack/`, after [`normalised`] has put
//! placeholders in place of its ids, times and signature only. A change of any other byte of any
//! CSV file, the report or the manifest fails the test, naming each file that differs with its
//! first differing line. `report.pdf` is not compared: the pack is made without Chromium
//! (`Print::NotHere`), and the manifest's note saying so is compared like the rest.
//!
//! `UPDATE_GOLDEN=1 cargo test --lib evidence::golden_tests` writes the golden files instead of
//! comparing (and removes golden files the pack no longer holds); read their diff before committing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

use super::lists_tests::{NOW, seeded};
use super::manifest::{MANIFEST, Manifest, SIGNATURE};
use super::tables_tests::{attempt, build, options, seed_host, temp_dir};
use crate::audit_logs::sessions::SessionRecord;
use crate::estate::findings::{Evaluation, Finding, Level};
use crate::pack::key::PackKey;

/// Where the golden files are (one per zip entry, named as the entry).
fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pack")
}

/// A VM of the estate, by name.
fn vm(name: &str) -> String {
    format!("/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{name}")
}

/// The month: `bas-a`'s reviewed, late-reviewed, unreviewed and failed sessions ([`seeded`]), two
/// of them with an authorization verdict (`pim`, `none`); `bas-b` and `bas-c` each with a recorded
/// session, a hold, a deletion's tombstone, an access and a review ([`seed_host`]); four failed
/// logins from one address on `bas-c`, raised as a burst; one account of a VM used by two people; a VM with a door open (resolved within
/// the month) and another whose network could not be read.
async fn month() -> crate::testkit::Fakes {
    let f = seeded().await;
    let ports = &f.state.ports;
    let tables = ports.tables.as_ref();
    for (tunnel, ago, verdict) in [
        ("early", Duration::hours(3), "pim"),
        ("late", Duration::days(4), "none"),
    ] {
        let day = crate::dates::format_date((NOW - ago).date());
        let at = (day.as_str(), tunnel);
        crate::catalogue::days::put_authorization(tables, &ports.outbox, at, (verdict, "{}"), NOW)
            .await
            .expect("verdict");
    }
    seed_host(ports, "bas-b", "b", 3).await;
    seed_host(ports, "bas-c", "c", 11).await;
    let at = datetime!(2025-03-12 22:40 UTC);
    for (i, user) in ["root", "admin", "oracle", "test"].into_iter().enumerate() {
        let tunnel = format!("fail-c{i}");
        let when = at + Duration::minutes(i64::try_from(i).expect("small"));
        attempt(ports, &tunnel, when, user, "198.51.100.77", "bas-c").await;
    }
    // One account of `vm-shared` used by two people: a shared account.
    for (tunnel, email, hour) in [
        ("sh-1", "dave@contoso.com", 8),
        ("sh-2", "erin@contoso.com", 14),
    ] {
        let mut s = SessionRecord::new(tunnel);
        let start = datetime!(2025-03-17 0:00 UTC) + Duration::hours(hour);
        (s.bastion_host, s.target_vm, s.target_resource_id) =
            ("bas-c".into(), "vm-shared".into(), vm("vm-shared"));
        (s.user_name, s.user_email, s.outcome) =
            ("svc-admin".into(), email.into(), "connected".into());
        (s.session_start, s.session_end) = (Some(start), Some(start + Duration::minutes(20)));
        let off = crate::export::Outbox::off();
        crate::catalogue::session::write::upsert(tables, &off, &s, None, start, &|_, _| None)
            .await
            .expect("session");
    }
    // An evaluation of the `assessed` checks, each of `found` (code, evidence) a high finding.
    let evaluation = |found: &[(&str, &str)], assessed: &[&str]| Evaluation {
        findings: (found.iter())
            .map(|(code, evidence)| Finding {
                code: (*code).into(),
                level: Level::High,
                evidence: (*evidence).into(),
            })
            .collect(),
        assessed: assessed.iter().map(|c| (*c).to_owned()).collect(),
    };
    let door = "door:public-ip";
    let check = "check-failed:network";
    for (host, ev, at) in [
        (
            vm("vm-web"),
            evaluation(&[(door, "public IP 203.0.113.50 on nic-web-1")], &[door]),
            datetime!(2025-03-06 7:30 UTC),
        ),
        (
            vm("vm-web"),
            evaluation(&[], &[door]),
            datetime!(2025-03-18 16:05 UTC),
        ),
        (
            vm("vm-db"),
            evaluation(
                &[(check, "the network interfaces could not be read")],
                &[check],
            ),
            datetime!(2025-03-09 12:00 UTC),
        ),
    ] {
        crate::estate::store::apply_host(tables, &host, &ev, None, at)
            .await
            .expect("estate");
    }
    let bucket = options(None).burst_bucket;
    crate::audit_logs::detect::unchecked::run_unchecked(tables, &ports.sources, 3, bucket).await;
    f
}

/// `text` with its ids, times and signature replaced by placeholders, and nothing else changed:
/// - a UUID (8-4-4-4-12 hex digits) → `<id>`;
/// - an RFC 3339 time in UTC (`2025-03-20T10:00:00Z`, with or without fractions of a second) →
///   `<time>`; dates alone (`2025-03-20`) stay;
/// - in `manifest.json`: `generatedAt` → `<time>`, and each file's `sha256` and `size` →
///   `<sha256>` / `<size>` (they digest the file, whose ids and times are blanked here instead);
///   `publicKey` stays (the key is fixed);
/// - `manifest.sig` (64 raw bytes) → `<signature>`.
fn normalised(name: &str, bytes: &[u8]) -> String {
    if name == SIGNATURE {
        return "<signature>\n".to_owned();
    }
    let text = String::from_utf8(bytes.to_vec()).unwrap_or_else(|_| panic!("{name}: not UTF-8"));
    let text = times(&uuids(&text));
    if name != MANIFEST {
        return text;
    }
    let mut doc: Value = serde_json::from_str(&text).expect("manifest");
    doc["generatedAt"] = json!("<time>");
    for file in doc["files"].as_array_mut().expect("files") {
        (file["sha256"], file["size"]) = (json!("<sha256>"), json!("<size>"));
    }
    let mut out = serde_json::to_string_pretty(&doc).expect("json");
    out.push('\n');
    out
}

/// Each UUID of `text` as `<id>`.
fn uuids(text: &str) -> String {
    replace_runs(text, 36, "<id>", |s| {
        s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
    })
}

/// Each UTC RFC 3339 time of `text` as `<time>` (`YYYY-MM-DDTHH:MM:SS`, optional fraction, `Z`).
fn times(text: &str) -> String {
    let stamp = |s: &str| {
        s.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        })
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_run(rest, 19, stamp) {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 19..];
        let fraction = tail
            .strip_prefix('.')
            .map_or(0, |f| 1 + f.bytes().take_while(u8::is_ascii_digit).count());
        if tail[fraction..].starts_with('Z') {
            out.push_str("<time>");
            rest = &tail[fraction + 1..];
        } else {
            out.push_str(&rest[at..at + 19]);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Where the first run of `len` bytes of `text` that `matches` starts.
fn find_run(text: &str, len: usize, matches: impl Fn(&str) -> bool) -> Option<usize> {
    (0..text.len()).find(|&i| text.get(i..i + len).is_some_and(&matches))
}

/// `text` with each run of `len` bytes that `matches` as `with`.
fn replace_runs(text: &str, len: usize, with: &str, matches: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_run(rest, len, &matches) {
        out.push_str(&rest[..at]);
        out.push_str(with);
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out
}

/// The zip of the month's pack: each entry's name and normalised text, in the zip's order.
async fn packed() -> Vec<(String, String)> {
    let f = month().await;
    let (dir, key) = (temp_dir(), PackKey::from_seed([7u8; 32]));
    let m: Manifest = build(&f.state.ports, &key, &options(None), &dir)
        .await
        .expect("pack");
    let verified = super::verify::verify_dir(&dir, Some(&key.public()));
    assert!(verified.ok(), "{:?}", verified.problems);
    let zipped = super::zip::zip_pack(&dir, &m, std::io::Cursor::new(Vec::new()))
        .expect("zip")
        .into_inner();
    let _ = std::fs::remove_dir_all(&dir);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).expect("archive");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).expect("entry");
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
            let name = entry.name().to_owned();
            let text = normalised(&name, &bytes);
            (name, text)
        })
        .collect()
}

/// Where `want` and `got` first differ: the line's number and column, and both lines around it.
fn first_difference(want: &str, got: &str) -> String {
    let (mut w, mut g) = (want.lines(), got.lines());
    for n in 1.. {
        match (w.next(), g.next()) {
            (Some(a), Some(b)) if a == b => {}
            (None, None) => break,
            (a, b) => {
                let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                let at = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
                let near = |l: &str| -> String {
                    l.chars().skip(at.saturating_sub(60)).take(120).collect()
                };
                return format!(
                    "line {n}, character {}:\n  golden: …{:?}\n  packed: …{:?}",
                    at + 1,
                    near(a),
                    near(b)
                );
            }
        }
    }
    "the same lines, other line endings".to_owned()
}

#[tokio::test]
async fn the_seeded_months_pack_is_the_golden_pack_but_for_ids_times_and_signature() {
    let entries = packed().await;
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["sessions.csv", "unauthorized.csv", "report.html", MANIFEST] {
        assert!(names.contains(&want), "{want} not in the zip: {names:?}");
    }
    let dir = golden_dir();
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("golden dir");
        for (name, text) in &entries {
            std::fs::write(dir.join(name), text).expect("golden file");
        }
        return;
    }
    let golden: BTreeMap<String, String> = std::fs::read_dir(&dir)
        .expect("tests/golden/pack (UPDATE_GOLDEN=1 writes it)")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("golden file");
            (name, text)
        })
        .collect();
    let mut problems = Vec::new();
    for (name, text) in &entries {
        match golden.get(name) {
            None => problems.push(format!("{name}: in the pack, no golden file")),
            Some(want) if want != text => {
                problems.push(format!("{name}: {}", first_difference(want, text)));
            }
            Some(_) => {}
        }
    }
    for name in golden.keys().filter(|n| !names.contains(&n.as_str())) {
        problems.push(format!("{name}: a golden file the pack no longer holds"));
    }
    assert!(
        problems.is_empty(),
        "the pack differs from tests/golden/pack (UPDATE_GOLDEN=1 rewrites it):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_normalisation_blanks_ids_times_and_the_signature_and_nothing_else() {
    let line = "s1,7d3f0c1e-2b4a-4c5d-9e6f-0a1b2c3d4e5f,2025-03-20T10:00:00Z,2025-03-20,\
                2025-03-20T10:00:00.123456Z,2025-03-20T10:00:00+01:00,7d3f0c1e,deadbeef,42\r\n";
    assert_eq!(
        normalised("sessions.csv", line.as_bytes()),
        "s1,<id>,<time>,2025-03-20,<time>,2025-03-20T10:00:00+01:00,7d3f0c1e,deadbeef,42\r\n"
    );
    let text = "<td>alice@contoso.com</td><td>2025-03-01T09:00:00Z</td><td>ok</td>\n";
    assert_eq!(
        normalised("report.html", text.as_bytes()),
        "<td>alice@contoso.com</td><td><time></td><td>ok</td>\n"
    );
    let manifest = json!({
        "format": "f", "generatedAt": "2025-04-01T01:00:00Z", "publicKey": "k",
        "figures": {"total": {"sessions": 7}},
        "files": [{"name": "a.csv", "sha256": "ab", "size": 3, "rows": 1}],
        "notes": ["made at 2025-04-01T01:00:00Z"],
    });
    let got: Value =
        serde_json::from_str(&normalised(MANIFEST, manifest.to_string().as_bytes())).expect("json");
    let mut want = manifest;
    want["generatedAt"] = json!("<time>");
    want["files"][0]["sha256"] = json!("<sha256>");
    want["files"][0]["size"] = json!("<size>");
    want["notes"][0] = json!("made at <time>");
    assert_eq!(got, want);
    assert_eq!(normalised(SIGNATURE, &[0xff; 64]), "<signature>\n");
}
