//! A pack over a fixed row source: it verifies, every byte flipped anywhere fails verification
//! naming the file, outside text stays text in the report, and the figures count the rows.

use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::key::PackKey;
use super::manifest::{MANIFEST, Manifest, SIGNATURE};
use super::pack::{PackOptions, write_pack};
use super::source::{Facts, Kind, Row, RowSource};
use super::verify::verify_dir;

struct Fixed;

const HOSTILE: &str = "<script>alert(1)</script>";
/// A principal whose name would read backwards (and reverse what follows it) if it acted.
const BIDI: &str = "mallory\u{202E}nimda";

fn session(
    id: &str,
    host: &str,
    start: OffsetDateTime,
    outcome: &'static str,
    recorded: bool,
) -> Row {
    Row {
        cells: vec![id.to_owned(), host.to_owned(), "=cmd|calc".to_owned()],
        facts: Facts::Session {
            id: id.to_owned(),
            host: host.to_owned(),
            start,
            outcome,
            recorded,
            recordings: if recorded {
                vec![format!("rec-{id}")]
            } else {
                vec![]
            },
        },
    }
}

#[async_trait]
impl RowSource for Fixed {
    fn columns(&self, kind: Kind) -> Vec<String> {
        vec![format!("{kind:?}"), "b".into(), "c".into()]
    }
    fn integrity_columns(&self) -> Vec<String> {
        vec!["id".into(), "state".into()]
    }
    async fn chunk(&self, kind: Kind, chunk: usize) -> anyhow::Result<Option<Vec<Row>>> {
        let t = datetime!(2026-10-03 10:00 UTC);
        let rows = match (kind, chunk) {
            (Kind::Reviews, 0) => vec![Row {
                cells: vec!["rec-s1".into(), "ok".into(), "alice".into()],
                facts: Facts::Review {
                    subject: "rec-s1".into(),
                    at: t + Duration::hours(2),
                    verdict: "ok".into(),
                    reviewer: "alice".into(),
                },
            }],
            (Kind::Sessions, 0) => vec![
                session("s1", "bas-a", t, "success", true),
                session("s2", HOSTILE, t, "success", false),
            ],
            (Kind::Sessions, 1) => (0..5)
                .map(|i| {
                    session(
                        &format!("f{i}"),
                        "bas-a",
                        t + Duration::days(1) + Duration::minutes(i),
                        "failed-login",
                        false,
                    )
                })
                .collect(),
            (Kind::Bursts, 0) => vec![Row {
                cells: vec!["burst-1".into(), "bas-a".into(), "5".into()],
                facts: Facts::Burst {
                    hosts: vec!["bas-a".into()],
                },
            }],
            (Kind::Recordings, 0) => vec![Row {
                cells: vec!["rec-s1".into(), HOSTILE.into(), "x".into()],
                facts: Facts::Recording {
                    id: "rec-s1".into(),
                    host: "bas-a".into(),
                    status: "active".into(),
                    class: "default".into(),
                    retain_until: Some("2026-11-20".into()),
                    integrity: "hashed",
                    held: false,
                    verification: "intact".into(),
                    integrity_cells: vec!["rec-s1".into(), "hashed".into()],
                },
            }],
            (Kind::AccessAudit, 0) => vec![Row {
                cells: vec![HOSTILE.into(), "read".into(), "rec-s1".into()],
                facts: Facts::Access {
                    who: BIDI.into(),
                    target: "rec-s1".into(),
                    action: "read".into(),
                    at: "2026-10-04T00:00:00Z".into(),
                },
            }],
            _ => return Ok(None),
        };
        Ok(Some(rows))
    }
    fn describe(&self) -> Value {
        json!({"fixed": true})
    }
}

fn options() -> PackOptions {
    PackOptions {
        from: datetime!(2026-10-01 0:00 UTC),
        to: datetime!(2026-11-01 0:00 UTC),
        bastion: None,
        review_deadline: Duration::hours(24),
        burst_threshold: 5,
        burst_window: Duration::minutes(15),
        now: datetime!(2026-11-01 1:00 UTC),
    }
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("evidence-test-{}", uuid::Uuid::new_v4()))
}

async fn pack() -> (PathBuf, Manifest, PackKey) {
    let dir = temp_dir();
    let key = PackKey::from_seed([3u8; 32]);
    let m = write_pack(&dir, &Fixed, &key, &options(), None)
        .await
        .expect("pack");
    (dir, m, key)
}

#[tokio::test]
async fn a_pack_verifies_and_lists_every_file() {
    let (dir, m, key) = pack().await;
    let v = verify_dir(&dir, Some(&key.public()));
    assert!(v.ok(), "{:?}", v.problems);
    let names: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    for want in [
        "sessions.csv",
        "recordings.csv",
        "reviews.csv",
        "holds.csv",
        "deletions.csv",
        "accessaudit.csv",
        "integrity.csv",
        "report.html",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert_eq!(v.checked.len(), m.files.len());
    assert!(
        m.notes.iter().any(|n| n.contains("report.pdf")),
        "{:?}",
        m.notes
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn flipping_one_byte_of_any_file_fails_verification_naming_it() {
    let (dir, m, key) = pack().await;
    let names: Vec<String> = m
        .files
        .iter()
        .map(|f| f.name.clone())
        .chain([MANIFEST.to_owned(), SIGNATURE.to_owned()])
        .collect();
    for name in names {
        let path = dir.join(&name);
        let original = std::fs::read(&path).expect("read");
        for at in [0, original.len() / 2, original.len() - 1] {
            let mut flipped = original.clone();
            flipped[at] ^= 0x01;
            std::fs::write(&path, &flipped).expect("write");
            let v = verify_dir(&dir, Some(&key.public()));
            assert!(!v.ok(), "{name} byte {at} flipped still verifies");
            let named = if name == MANIFEST {
                SIGNATURE
            } else {
                name.as_str()
            };
            assert!(
                v.problems.iter().any(|p| p.contains(named)),
                "{name}: {:?}",
                v.problems
            );
        }
        std::fs::write(&path, &original).expect("restore");
    }
    assert!(verify_dir(&dir, Some(&key.public())).ok());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn another_key_an_extra_file_or_a_missing_file_fail() {
    let (dir, m, _) = pack().await;
    let other = PackKey::from_seed([4u8; 32]);
    assert!(!verify_dir(&dir, Some(&other.public())).ok());
    std::fs::write(dir.join("extra.csv"), b"x").expect("write");
    let v = verify_dir(&dir, None);
    assert!(
        v.problems.iter().any(|p| p.starts_with("extra.csv")),
        "{:?}",
        v.problems
    );
    std::fs::remove_file(dir.join("extra.csv")).expect("rm");
    std::fs::remove_file(dir.join(&m.files[0].name)).expect("rm");
    assert!(!verify_dir(&dir, None).ok());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn outside_text_is_text_and_formulas_are_defused() {
    let (dir, m, _) = pack().await;
    let html = std::fs::read_to_string(dir.join("report.html")).expect("html");
    assert!(!html.contains("<script"), "markup from outside rendered");
    assert!(
        html.contains("&lt;script&gt;"),
        "the hostile name is shown as text"
    );
    for fetch in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(fetch), "report fetches something: {fetch}");
    }
    assert!(html.contains("<svg"), "charts inline");
    // Outside values are isolated and their directional controls shown, never acting.
    assert!(!html.contains('\u{202E}'), "a raw override in the report");
    assert!(html.contains("<bdi>mallory[U+202E]nimda</bdi>"), "{html}");
    assert!(html.contains("<bdi>&lt;script&gt;"), "hosts isolated too");
    let csv = std::fs::read_to_string(dir.join("sessions.csv")).expect("csv");
    assert!(csv.contains("'=cmd|calc") && csv.ends_with("\r\n"), "{csv}");
    let f = &m.figures["total"];
    assert_eq!(f["sessions"], 7);
    assert_eq!(f["recorded"], 1);
    assert_eq!(f["failedLogins"], 5);
    assert_eq!(f["failedLoginBursts"], 1);
    assert_eq!(f["reviewed"], 1);
    assert_eq!(f["reviewedOnTime"], 1);
    assert_eq!(f["dueByClass"]["default"], 1);
    assert_eq!(m.figures["accesses"], 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_zip_holds_every_file_and_the_signature() {
    let (dir, m, _) = pack().await;
    let bytes = super::zip::zip_pack(&dir, &m, std::io::Cursor::new(Vec::new()))
        .expect("zip")
        .into_inner();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("archive");
    assert_eq!(z.len(), m.files.len() + 2);
    let mut sig = Vec::new();
    std::io::Read::read_to_end(&mut z.by_name(SIGNATURE).expect("sig"), &mut sig).expect("read");
    assert_eq!(sig, std::fs::read(dir.join(SIGNATURE)).expect("sig"));
    let _ = std::fs::remove_dir_all(dir);
}
