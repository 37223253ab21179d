//! The pack over the app's tables (in-memory fakes): a month of two Bastion hosts, seeded through
//! the pipeline's own writers where there is one, packed for one host, holds nothing of the other
//! in any file.

use std::path::PathBuf;

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::manifest::Manifest;
use super::options::PackOptions;
use super::pack::write_pack;
use super::source::Kind;
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::access::{Access, audit};
use crate::catalogue::days::{Before, DayRow, put as put_day};
use crate::catalogue::person::Person;
use crate::catalogue::recording::{
    Confidence, Deletion, Joined, Match, Recording, RecordingKey, Replaced, STATUS_DELETED_OUTSIDE,
};
use crate::pack::key::PackKey;
use crate::ports::Ports;
use crate::retention::hold::Actor;
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::hold::two_person::{self, Asker, Scope};
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::testkit::fakes;

pub(super) const FROM: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
pub(super) const TO: OffsetDateTime = datetime!(2025-04-01 0:00 UTC);

pub(super) fn options(bastion: Option<&str>) -> PackOptions {
    PackOptions {
        from: FROM,
        to: TO,
        bastion: bastion.map(str::to_owned),
        review_deadline: Duration::hours(24),
        burst_bucket: Duration::minutes(10),
        now: datetime!(2025-04-01 1:00 UTC),
        custody: None,
        paper: crate::pack::paper::Paper::A4,
    }
}

pub(super) fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("evidence-api-test-{}", uuid::Uuid::new_v4()))
}

pub(super) async fn build(
    ports: &Ports,
    key: &PackKey,
    opts: &PackOptions,
    dir: &std::path::Path,
) -> anyhow::Result<Manifest> {
    write_pack(dir, ports, key, opts, super::pdf::Print::NotHere).await
}

/// `r` joined exactly to session `s`.
pub(super) fn joined_to(mut r: Recording, s: &SessionRecord) -> Recording {
    r.joined = Some(Joined {
        m: Match {
            confidence: Confidence::Exact,
            tunnels: vec![s.tunnel_id.clone()],
        },
        session: DayRow::of(s).map(|w| w.view()),
    });
    r
}

/// The files that list each host's rows: every kind's but the bursts' (the seeds raise none).
fn listed() -> impl Iterator<Item = &'static str> {
    Kind::ALL
        .into_iter()
        .filter(|k| *k != Kind::Bursts)
        .map(Kind::as_str)
}

async fn write(ports: &Ports, table: &str, v: Value) {
    crate::testkit::upsert(ports.tables.as_ref(), table, v).await;
}

/// One host's share of the month: a session (`tun-<tag>`), its recording (`rec-<tag>.mp4`), a
/// hold on it (`hold-<tag>`), a deleted recording's tombstone (`gone-<tag>.mp4`), a read of the
/// recording in the access audit, and a review of the recording by `rev-<tag>`; the recording's id.
pub(super) async fn seed_host(ports: &Ports, host: &str, tag: &str, day: u8) -> String {
    let start = datetime!(2025-03-01 9:00 UTC) + Duration::days(i64::from(day) - 1);
    let mut s = SessionRecord::new(&format!("tun-{tag}"));
    s.user_name = format!("user-{tag}");
    s.client_ip = "203.0.113.9".into();
    s.target_vm = format!("vm-{tag}");
    s.bastion_host = host.into();
    s.outcome = "connected".into();
    s.session_start = Some(start);
    s.session_end = Some(start + Duration::minutes(5));
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
    let mut rec = crate::testkit::audit::recording_row(&format!("rec-{tag}.mp4"), start);
    rec.status = "active".into();
    rec.retention_class = "standard".into();
    let rec = joined_to(rec, &s);
    let id = rec.id();
    let mut gone = crate::testkit::audit::recording_row(&format!("gone-{tag}.mp4"), start);
    gone.source_bastion = host.into();
    gone.blob_created = datetime!(2024-01-01 0:00 UTC);
    gone.status = "deleted".into();
    // Catalogued last year; replaced, then deleted by someone else, this month.
    let mut out = crate::testkit::audit::recording_row(&format!("out-{tag}.mp4"), start);
    out.key.pk = "2024-01-01".into();
    out.source_bastion = host.into();
    out.blob_url = format!("https://a/recordings/out-{tag}.mp4");
    out.blob_created = datetime!(2024-01-01 0:00 UTC);
    out.status = STATUS_DELETED_OUTSIDE.into();
    let at = crate::dates::format_utc(start);
    out.deletion = Some(Deletion {
        at: at.clone(),
        reason: "outside-retention".into(),
        invocation_id: String::new(),
        request_id: format!("req-{tag}"),
    });
    out.replaced = Some(Replaced {
        etag: format!("0xOLD-{tag}"),
        length: 7,
        sha256: "ab".repeat(32),
        at,
    });
    for r in [&rec, &gone, &out] {
        let row = serde_json::Value::Object(r.to_entity());
        write(ports, RECORDINGS_TABLE, row).await;
    }
    let gone = gone.key;
    write(
        ports,
        DELETIONS_TABLE,
        json!({"PartitionKey": gone.pk, "RowKey": gone.rk, "TombstoneId": gone.id(),
            "DeletedAt": crate::dates::format_utc(start), "RetentionClass": format!("class-{tag}"),
            "BlobUrl": format!("https://a/recordings/gone-{tag}.mp4")}),
    )
    .await;
    write(
        ports,
        HOLDS_TABLE,
        json!({"PartitionKey": "hold", "RowKey": format!("hold-{tag}"), "Scope": "recording",
            "Status": "active", "SetBy": format!("setter-{tag}"), "SetAt": "2025-02-01T00:00:00Z",
            "Reason": format!("case-{tag}")}),
    )
    .await;
    write(
        ports,
        HOLDS_TABLE,
        json!({"PartitionKey": crate::retention::hold::member_pk(&format!("hold-{tag}")),
            "RowKey": id, "RecordingId": id, "HoldId": format!("hold-{tag}"), "Active": true}),
    )
    .await;
    let access = Access {
        who: format!("reader-{tag}"),
        ip: String::new(),
        agent: String::new(),
    };
    audit(
        ports.tables.as_ref(),
        &access,
        "read",
        &id,
        "found",
        start,
        None,
    )
    .await
    .expect("audit");
    let req = crate::reviews::record::ReviewRequest::parse(
        json!({"recording": id, "verdict": "ok"})
            .to_string()
            .as_bytes(),
        None,
    )
    .expect("review");
    crate::reviews::record::record(ports, &req, &format!("rev-{tag}"))
        .await
        .expect("recorded");
    // The session's user tries to sign off their own session: refused, recorded.
    let own = crate::reviews::record::record(ports, &req, &format!("USER-{tag}")).await;
    assert!(
        matches!(own, Err(crate::ports::RequestError::Refused(_))),
        "{own:?}"
    );
    // A two-person release of the hold's member: requested, then approved by another.
    let key = RecordingKey::parse(&id).expect("key");
    let mut request: Option<String> = None;
    for who in [format!("requester-{tag}"), format!("approver-{tag}")] {
        let actor = Actor {
            who: who.clone(),
            why: "case closed".into(),
            at: start,
        };
        let person = Person::new([&who], None);
        let scope = Scope::Recording(key.clone());
        let asker = Asker {
            actor: &actor,
            person: &person,
            request: request.as_deref(),
            ttl: time::Duration::hours(24),
        };
        let decided = two_person::decide(ports, &format!("hold-{tag}"), &scope, asker)
            .await
            .expect("decided");
        if let two_person::Decision::Open(r) = decided {
            request = Some(r.row_key);
        }
    }
    id
}

#[tokio::test]
async fn a_month_of_two_hosts_packed_for_one_holds_nothing_of_the_other_in_any_file() {
    let f = fakes();
    let ports = &f.state.ports;
    let ours = seed_host(ports, "bas-ours", "ours", 3).await;
    let theirs = seed_host(ports, "bas-theirs", "theirs", 4).await;
    // A pack download of every host, and one cut for the other host, in the access audit.
    let access = Access {
        who: "auditor-all".into(),
        ip: String::new(),
        agent: String::new(),
    };
    for target in [
        "evidence 2025-03-01T00:00:00Z..2025-04-01T00:00:00Z",
        "evidence 2025-03-01T00:00:00Z..2025-04-01T00:00:00Z bastion=bas-theirs",
    ] {
        audit(
            ports.tables.as_ref(),
            &access,
            "evidence",
            target,
            "issued",
            datetime!(2025-03-20 9:00 UTC),
            None,
        )
        .await
        .expect("audit");
    }
    let key = PackKey::from_seed([5u8; 32]);

    let read_all = |dir: &PathBuf| -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(dir).expect("dir") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            all.push_str(&format!(
                "\n== {}\n{}",
                path.display(),
                String::from_utf8_lossy(&bytes)
            ));
        }
        all
    };

    // Without a host, both hosts are in every file that lists them.
    let dir = temp_dir();
    let m = build(ports, &key, &options(None), &dir)
        .await
        .expect("pack");
    let all = read_all(&dir);
    for file in listed().chain(["integrity.csv"]) {
        let rows = m.files.iter().find(|e| e.name == file).and_then(|e| e.rows);
        let want = match file {
            "recordings.csv" | "integrity.csv" => 2,
            "accessaudit.csv" => 2 + 2,
            _ => 2,
        };
        assert!(rows >= Some(want), "{file}: {rows:?} rows");
    }
    assert!(all.contains("theirs") && all.contains("ours"));
    let _ = std::fs::remove_dir_all(&dir);

    // For one host, nothing of the other anywhere; all of its own.
    let dir = temp_dir();
    let m = build(ports, &key, &options(Some("BAS-OURS")), &dir)
        .await
        .expect("pack");
    let all = read_all(&dir);
    assert!(!all.contains("theirs"), "{all}");
    assert!(!all.contains(&theirs), "{all}");
    assert!(
        !all.contains("auditor-all"),
        "an unfiltered pack's download is no host's: {all}"
    );
    for own in [
        "tun-ours",
        ours.as_str(),
        "hold-ours",
        "class-ours",
        "reader-ours",
        "rev-ours",
        "requester-ours",
        "approver-ours",
        "out-ours.mp4",
        "0xOLD-ours",
    ] {
        assert!(all.contains(own), "{own} missing");
    }
    for file in listed() {
        let rows = m.files.iter().find(|e| e.name == file).and_then(|e| e.rows);
        // The outside deletion and the replacement are two custody events.
        let want = if file == "custody.csv" { 2 } else { 1 };
        assert_eq!(rows, Some(want), "{file}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    // A pack cut for the other host shows its own download.
    let dir = temp_dir();
    build(ports, &key, &options(Some("bas-theirs")), &dir)
        .await
        .expect("pack");
    let all = read_all(&dir);
    assert!(all.contains("auditor-all"), "{all}");
    assert!(
        !all.contains("tun-ours") && !all.contains("bas-ours"),
        "{all}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn integrity_csv_shows_each_recordings_latest_verification() {
    let f = fakes();
    let ports = &f.state.ports;
    let checked = seed_host(ports, "bas-a", "checked", 3).await;
    let never = seed_host(ports, "bas-a", "never", 4).await;
    let key = RecordingKey::parse(&checked).expect("key");
    for (at, result, run) in [
        (datetime!(2025-03-10 3:00 UTC), "intact", "w1"),
        (datetime!(2025-03-17 3:00 UTC), "tampered", "w2"),
    ] {
        let check = crate::integrity::checks::Check {
            at,
            result,
            run: run.into(),
        };
        crate::integrity::checks::store(ports.tables.as_ref(), &key, &check)
            .await
            .expect("store");
    }
    let dir = temp_dir();
    let m = build(ports, &PackKey::from_seed([5u8; 32]), &options(None), &dir)
        .await
        .expect("pack");
    let text = std::fs::read_to_string(dir.join("integrity.csv")).expect("csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (id, at, result) = (col("id"), col("lastVerifiedAt"), col("verification"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let of = |rec: &str| {
        rows.iter()
            .find(|r| r[id] == rec)
            .map(|r| (r[at].clone(), r[result].clone()))
            .expect("listed")
    };
    assert_eq!(
        of(&checked),
        ("2025-03-17T03:00:00.000Z".to_owned(), "tampered".to_owned())
    );
    assert_eq!(of(&never), (String::new(), "never".to_owned()));
    assert_eq!(
        m.figures["total"]["verified"],
        json!({"never": 1, "tampered": 1})
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("html");
    assert!(html.contains("Latest verification"), "the report shows it");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One failed attempt through the detector's own writer; the partitions it touched.
pub(super) async fn attempt(
    ports: &Ports,
    tunnel: &str,
    at: OffsetDateTime,
    user: &str,
    ip: &str,
    host: &str,
) -> Vec<String> {
    use crate::audit_logs::detect::failed::{FailedLogin, store};
    use crate::dates::bucket;
    let f = FailedLogin {
        tunnel_id: tunnel.into(),
        window: bucket(at, options(None).burst_bucket),
        day: String::new(),
        vm: "vm-1".into(),
        user: user.into(),
        client_ip: ip.into(),
        host: host.into(),
    };
    store(ports.tables.as_ref(), &[&f]).await.expect("store");
    f.partitions()
}

#[tokio::test]
async fn the_reports_bursts_are_the_detections_the_detector_raised() {
    let f = fakes();
    let ports = &f.state.ports;
    let t = datetime!(2025-03-05 9:00 UTC);
    // bas-a: one user from one address, three times (a burst per user and per address).
    for i in 0..3 {
        attempt(
            ports,
            &format!("a{i}"),
            t + Duration::minutes(i),
            "mallory",
            "203.0.113.1",
            "bas-a",
        )
        .await;
    }
    // bas-b: three users from one address (a burst per address only).
    for i in 0..3 {
        attempt(
            ports,
            &format!("b{i}"),
            t + Duration::minutes(i),
            &format!("u{i}"),
            "198.51.100.2",
            "bas-b",
        )
        .await;
    }
    // Below the threshold, and a burst of February (outside the month).
    for i in 0..2 {
        attempt(
            ports,
            &format!("c{i}"),
            t + Duration::hours(5),
            "eve",
            "192.0.2.3",
            "bas-a",
        )
        .await;
    }
    for i in 0..3 {
        attempt(
            ports,
            &format!("d{i}"),
            datetime!(2025-02-20 9:00 UTC),
            "old",
            "192.0.2.4",
            "bas-b",
        )
        .await;
    }
    let opts = options(None);
    let raised = crate::audit_logs::detect::unchecked::run_unchecked(
        ports.tables.as_ref(),
        &ports.sources,
        3, // FAILED_LOGIN_THRESHOLD
        opts.burst_bucket,
    )
    .await;
    let in_month: Vec<_> = raised
        .iter()
        .filter(|n| n.evidence["windowStart"].as_str() >= Some("2025-03"))
        .collect();
    assert_eq!((raised.len(), in_month.len()), (5, 3), "{raised:?}");

    let key = PackKey::from_seed([5u8; 32]);
    let dir = temp_dir();
    let m = build(ports, &key, &opts, &dir).await.expect("pack");
    let fig = &m.figures;
    assert_eq!(fig["total"]["failedLoginBursts"], 3);
    assert_eq!(fig["hosts"]["bas-a"]["failedLoginBursts"], 2);
    assert_eq!(fig["hosts"]["bas-b"]["failedLoginBursts"], 1);
    let csv = std::fs::read_to_string(dir.join("bursts.csv")).expect("bursts.csv");
    let mut listed: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let mut want: Vec<String> = in_month.iter().map(|n| n.id()).collect();
    listed.sort_unstable();
    want.sort_unstable();
    assert_eq!(listed, want, "the same detections, by notification id");
    let _ = std::fs::remove_dir_all(&dir);

    // One host's pack: its detections only.
    let dir = temp_dir();
    let m = build(ports, &key, &options(Some("bas-b")), &dir)
        .await
        .expect("pack");
    assert_eq!(m.figures["total"]["failedLoginBursts"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}
