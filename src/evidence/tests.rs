//! A pack over a seeded month: it verifies, every byte flipped anywhere fails verification naming
//! the file, outside text stays text in the report, and the figures count the rows.

use std::path::PathBuf;

use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::manifest::{MANIFEST, Manifest, SIGNATURE};
use super::options::PackOptions;
use super::pack::write_pack;
use super::tables_tests::joined_to;
use super::verify::verify_dir;
use crate::audit_logs::detect::failed::{FailedLogin, store};
use crate::audit_logs::detect::unchecked::run_unchecked;
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::access::{Access, audit};
use crate::catalogue::days::{Before, get_row, put as put_day, put_recorded};
use crate::catalogue::person::Person;
use crate::catalogue::recording::{Deletion, STATUS_DELETED_OUTSIDE};
use crate::dates::bucket;
use crate::pack::key::PackKey;
use crate::ports::Ports;
use crate::reviews::refusal::{Refusal, Reviewer, record_refusal};
use crate::reviews::{ReviewRequest, record as review};

const HOSTILE: &str = "<script>alert(1)</script>";
/// A principal whose name would read backwards (and reverse what follows it) if it acted.
const BIDI: &str = "mallory\u{202E}nimda";

fn options() -> PackOptions {
    PackOptions {
        from: datetime!(2025-03-01 0:00 UTC),
        to: datetime!(2025-04-01 0:00 UTC),
        bastion: None,
        review_deadline: Duration::hours(24),
        burst_bucket: Duration::minutes(15),
        now: datetime!(2025-04-01 1:00 UTC),
        custody: None,
        paper: crate::pack::paper::Paper::A4,
    }
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("evidence-test-{}", uuid::Uuid::new_v4()))
}

async fn session(ports: &Ports, id: &str, host: &str, start: OffsetDateTime, outcome: &str) {
    let mut s = SessionRecord::new(id);
    s.bastion_host = host.into();
    s.user_name = "=cmd|calc".into();
    s.outcome = outcome.into();
    s.session_start = Some(start);
    put_day(
        ports.tables.as_ref(),
        &crate::export::Outbox::off(),
        &s,
        start,
        Before::Day(None),
        None,
        None,
    )
    .await
    .expect("session");
}

/// The month: a recorded and reviewed session of `bas-a` (its recording due for deletion soon
/// after the month), an unrecorded one of a host with a hostile name, five failed logins and a
/// burst of them, one access by a principal with a right-to-left override in the name.
async fn seed(ports: &Ports) {
    let tables = ports.tables.as_ref();
    // The review is made at the fakes' clock, 2025-03-14 10:00: two hours after the start.
    let t = datetime!(2025-03-14 8:00 UTC);
    session(ports, "s1", "bas-a", t, "connected").await;
    session(ports, "s2", HOSTILE, t, "connected").await;
    for i in 0..5 {
        let at = t - Duration::days(1) + Duration::minutes(i);
        session(ports, &format!("f{i}"), "bas-a", at, "login-failed").await;
        let f = FailedLogin {
            tunnel_id: format!("f{i}"),
            window: bucket(at, options().burst_bucket),
            day: String::new(),
            vm: "vm-1".into(),
            user: format!("u{i}"),
            client_ip: "192.0.2.1".into(),
            host: "bas-a".into(),
        };
        store(tables, &[&f]).await.expect("attempt");
    }
    let burst_bucket = options().burst_bucket;
    let raised = run_unchecked(tables, &ports.sources, 5, burst_bucket).await;
    assert_eq!(raised.len(), 1, "one address, five users: {raised:?}");
    let mut s1 = SessionRecord::new("s1");
    s1.bastion_host = "bas-a".into();
    s1.session_start = Some(t);
    let mut r = crate::testkit::audit::recording_row("rec-s1.mp4", t + Duration::minutes(5));
    r.retention_class = "default".into();
    r.retain_until = "2025-04-20".into();
    let r = joined_to(r, &s1);
    crate::testkit::upsert(tables, RECORDINGS_TABLE, json!(r.to_entity())).await;
    let row = get_row(tables, "2025-03-14", "s1")
        .await
        .expect("read")
        .expect("row");
    put_recorded(
        tables,
        &crate::export::Outbox::off(),
        vec![(
            row,
            crate::catalogue::days::Derived {
                ids: vec![r.id()],
                by: "exact",
                replaced: false,
            },
            false,
        )],
        datetime!(2025-03-14 12:00 UTC),
    )
    .await
    .expect("recorded");
    let body = json!({"recording": r.id(), "verdict": "ok"}).to_string();
    let req = ReviewRequest::parse(body.as_bytes(), None).expect("review");
    review(ports, &req, "alice").await.expect("reviewed");
    let access = Access {
        who: BIDI.into(),
        ip: String::new(),
        agent: HOSTILE.into(),
    };
    audit(tables, &access, "recording.read", &r.id(), "found", t, None)
        .await
        .expect("access");
    // A hostile reviewer refused on a hostile user's session, and a recording with a hostile
    // name deleted outside retention.
    let user = Person::new([format!("=cmd|calc {BIDI}")], None);
    let reviewer = Reviewer::named(&format!("{BIDI}@contoso.com"));
    let subject = crate::reviews::Subject {
        kind: crate::reviews::Kind::Session,
        id: "s2".into(),
    };
    let context = crate::reviews::model::Context {
        bastion_host: HOSTILE.into(),
        ..Default::default()
    };
    let refusal = Refusal {
        attempt: "attempt-1",
        reviewer: &reviewer,
        subject: &subject,
        context: &context,
        user: &user,
        reason: "self-review refused",
        at: t,
    };
    record_refusal(tables, &refusal).await.expect("refusal");
    let mut gone = crate::testkit::audit::recording_row(&format!("{HOSTILE}{BIDI}.mp4"), t);
    gone.status = STATUS_DELETED_OUTSIDE.into();
    gone.deletion = Some(Deletion {
        at: crate::dates::format_utc(t),
        reason: "outside-retention".into(),
        invocation_id: String::new(),
        request_id: "=HYPERLINK(\"x\")".into(),
    });
    // The deleter taken by time, not by the event's request id: probable, with the reason.
    gone.actor = Some(crate::catalogue::writer::Actor {
        status: crate::catalogue::writer::ACTOR_PROBABLE.into(),
        operation: "DeleteBlob".into(),
        upn: "mallory@contoso.example".into(),
        reason: "probable, not proven: no log row carries the event's storage request id".into(),
        ..Default::default()
    });
    crate::testkit::upsert(tables, RECORDINGS_TABLE, json!(gone.to_entity())).await;
}

async fn pack() -> (PathBuf, Manifest, PackKey) {
    let f = crate::testkit::fakes();
    seed(&f.state.ports).await;
    let dir = temp_dir();
    let key = PackKey::from_seed([3u8; 32]);
    let m = write_pack(
        &dir,
        &f.state.ports,
        &key,
        &options(),
        super::pdf::Print::NotHere,
    )
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
        "refusedreviews.csv",
        "holdreleases.csv",
        "custody.csv",
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
    // The refused self-review and the outside deletion, their hostile values as text (a long
    // value may wrap after `@` or `/`: `<wbr>`).
    let html = html.replace("<wbr>", "");
    assert!(
        html.contains("<bdi>mallory[U+202E]nimda@contoso.com</bdi>"),
        "the refused reviewer: {html}"
    );
    assert!(
        html.contains(
            "<bdi>recordings/&lt;script&gt;alert(1)&lt;/script&gt;mallory[U+202E]nimda.mp4</bdi>"
        ),
        "the deleted blob: {html}"
    );
    assert_eq!(
        (
            m.figures["refusedReviews"].as_u64(),
            m.figures["deletedOutsideRetention"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let refused = std::fs::read_to_string(dir.join("refusedreviews.csv")).expect("csv");
    assert!(refused.contains("'=cmd|calc"), "{refused}");
    let custody = std::fs::read_to_string(dir.join("custody.csv")).expect("csv");
    assert!(
        custody.contains("deleted-outside-retention") && custody.contains("'=HYPERLINK"),
        "{custody}"
    );
    let mut read = csv::Reader::from_reader(custody.as_bytes());
    let header = read.headers().expect("header").clone();
    let row = read.records().next().expect("row").expect("row");
    let cell = |name: &str| header.iter().position(|h| h == name).map(|i| &row[i]);
    assert_eq!(cell("actorStatus"), Some("probable"), "{custody}");
    assert_eq!(cell("actorUpn"), Some("mallory@contoso.example"));
    assert!(
        cell("actorReason").is_some_and(|r| r.contains("request id")),
        "{custody}"
    );
    let csv = std::fs::read_to_string(dir.join("sessions.csv")).expect("csv");
    assert!(csv.contains("'=cmd|calc") && csv.ends_with("\r\n"), "{csv}");
    let f = &m.figures["total"];
    assert_eq!(f["sessions"], 7);
    assert_eq!(f["recorded"], 1);
    // The failed logins are neither recorded nor unrecorded; coverage is over the other two.
    assert_eq!(f["unrecorded"], 1);
    assert_eq!(f["coveragePercent"], 50.0);
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
