//! The session-level lists of a seeded month: each has as many rows as its figure counts, names
//! the person, the VM and the host, agrees row for row with the report's table, and defuses
//! formulas; the report marks a period not yet over on every printed page and prints on the
//! configured paper; `--bastion` with a name no host goes by is refused naming the hosts there are.

use std::path::Path;

use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::hosts::{BastionCheck, check_bastion};
use super::lists::{FINDINGS, LISTS, ListSpec, UNRECORDED, UNREVIEWED};
use super::options::PackOptions;
use super::pack::write_pack;
use super::pdf::Print;
use super::tables_tests::{options, temp_dir};
use crate::audit_logs::sessions::SessionRecord;
use crate::pack::key::PackKey;
use crate::pack::paper::Paper;
use crate::ports::Ports;
use crate::reviews::{ReviewRequest, record as review};

/// The fakes' clock: every review is made then.
pub(super) const NOW: OffsetDateTime = datetime!(2025-03-20 10:00 UTC);

async fn session(ports: &Ports, id: &str, host: &str, start: OffsetDateTime, outcome: &str) {
    let mut s = SessionRecord::new(id);
    s.bastion_host = host.into();
    s.user_name = "administrator".into();
    s.user_email = format!("{id}@contoso.com");
    s.target_vm = format!("vm-{id}");
    s.outcome = outcome.into();
    s.session_start = Some(start);
    s.session_end = Some(start + Duration::hours(1));
    // The one writer of a session: its `sessions` row (which a review resolves) and its day row.
    crate::catalogue::session::write::upsert(
        ports.tables.as_ref(),
        &crate::export::Outbox::off(),
        &s,
        None,
        start,
        &|_, _| None,
    )
    .await
    .expect("session");
}

async fn reviewed(ports: &Ports, body: serde_json::Value) {
    let req = ReviewRequest::parse(body.to_string().as_bytes(), None).expect("review");
    review(ports, &req, "carol@contoso.com")
        .await
        .expect("reviewed");
}

/// Four sessions of `bas-a`, unrecorded (no recording is catalogued): `early` reviewed on time
/// (`ok`), `late` reviewed after its due time (`incident`, a formula in its comment), `never` not
/// reviewed, `failed` a failed login (neither recorded nor unrecorded, not reviewed).
pub(super) async fn seeded() -> crate::testkit::Fakes {
    let f = crate::testkit::fakes_over(
        crate::testkit::storage::memory::InMemoryBlobStore::new("acct"),
        NOW,
    );
    let ports = &f.state.ports;
    session(
        ports,
        "early",
        "bas-a",
        NOW - Duration::hours(3),
        "connected",
    )
    .await;
    session(ports, "late", "bas-a", NOW - Duration::days(4), "connected").await;
    session(
        ports,
        "never",
        "bas-a",
        NOW - Duration::days(2),
        "connected",
    )
    .await;
    session(
        ports,
        "failed",
        "bas-a",
        NOW - Duration::days(1),
        "login-failed",
    )
    .await;
    reviewed(ports, json!({"session": "early", "verdict": "ok"})).await;
    reviewed(
        ports,
        json!({"session": "late", "verdict": "incident", "comment": "=HYPERLINK(\"x\") copied data", "ticket": "INC-7"}),
    )
    .await;
    f
}

/// A cell as the report shows it: a time as `2025-03-20 10:00:00Z`, else as it is.
fn readable(cell: &str) -> String {
    crate::dates::readable_utc(cell).unwrap_or_else(|| cell.to_owned())
}

fn csv_rows(dir: &Path, spec: ListSpec) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(spec.file)).expect(spec.file);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(head, spec.head(), "{}", spec.file);
    r.records()
        .map(|x| x.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

/// The cells of the report's table captioned `title`, row by row (`<bdi>` removed, text
/// unescaped for `&amp;`, `&lt;`, `&gt;`, `&quot;`).
fn report_rows(html: &str, title: &str) -> Vec<Vec<String>> {
    let table = html
        .split(&format!("<caption>{title}"))
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the table");
    let body = table.split("<tbody>").nth(1).expect("a body");
    body.split("<tr>")
        .skip(1)
        .map(|r| {
            r.split("<td>")
                .skip(1)
                .map(|c| {
                    let c = c.split("</td>").next().unwrap_or_default();
                    c.replace("<bdi>", "")
                        .replace("</bdi>", "")
                        .replace("<wbr>", "")
                        .replace("&quot;", "\"")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&amp;", "&")
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn each_session_list_counts_as_its_figure_and_agrees_with_the_report_row_for_row() {
    let f = seeded().await;
    let dir = temp_dir();
    let key = PackKey::from_seed([5u8; 32]);
    let m = write_pack(&dir, &f.state.ports, &key, &options(None), Print::NotHere)
        .await
        .expect("pack");
    let total = &m.figures["total"];
    let n = |k: &str| usize::try_from(total[k].as_u64().expect(k)).expect("small");
    assert_eq!(
        (
            n("sessions"),
            n("unrecorded"),
            n("reviewed"),
            n("reviewedOnTime")
        ),
        (4, 3, 2, 1),
        "{total}"
    );

    let unrecorded = csv_rows(&dir, UNRECORDED);
    assert_eq!(unrecorded.len(), n("unrecorded"));
    let mut people: Vec<&str> = unrecorded.iter().map(|r| r[2].as_str()).collect();
    people.sort_unstable();
    assert_eq!(
        people,
        ["early@contoso.com", "late@contoso.com", "never@contoso.com"]
    );
    let early = unrecorded.iter().find(|r| r[8] == "early").expect("early");
    assert_eq!(
        early[..7],
        [
            "2025-03-20T07:00:00.000Z",
            "2025-03-20T08:00:00.000Z",
            "early@contoso.com",
            "administrator",
            "vm-early",
            "bas-a",
            "success"
        ]
    );

    // Not reviewed: sessions − reviewed; late: reviewed − reviewed on time (the figures' own).
    let unreviewed = csv_rows(&dir, UNREVIEWED);
    let state = |s: &str| unreviewed.iter().filter(|r| r[0] == s).count();
    assert_eq!(state("not-reviewed"), n("sessions") - n("reviewed"));
    assert_eq!(state("late"), n("reviewed") - n("reviewedOnTime"));
    let late = unreviewed
        .iter()
        .find(|r| r[0] == "late")
        .expect("late row");
    assert_eq!(
        (late[3].as_str(), late[8].as_str(), late[9].as_str()),
        (
            "late@contoso.com",
            "2025-03-17T11:00:00.000Z",
            "2025-03-20T10:00:00.000Z"
        ),
        "person, due (end + 24 h), first review"
    );
    assert!(
        unreviewed
            .iter()
            .any(|r| r[10] == "failed" && r[7] == "failed-login")
    );

    let findings = csv_rows(&dir, FINDINGS);
    assert_eq!(findings.len(), 1, "the incident, not the ok review");
    let i = &findings[0];
    assert_eq!(
        [&i[1], &i[2], &i[3], &i[4], &i[5], &i[6], &i[7], &i[8]].map(String::as_str),
        [
            "incident",
            "carol@contoso.com",
            "'=HYPERLINK(\"x\") copied data",
            "INC-7",
            "late@contoso.com",
            "administrator",
            "vm-late",
            "bas-a"
        ]
    );
    assert_eq!(
        (i[9].as_str(), i[10].as_str()),
        ("2025-03-16T10:00:00.000Z", "2025-03-16T11:00:00.000Z")
    );
    let raw = std::fs::read_to_string(dir.join(FINDINGS.file)).expect("findings");
    assert!(
        raw.contains("\"'=HYPERLINK(\"\"x\"\") copied data\""),
        "defused: {raw}"
    );

    // Row for row: the report's table holds the shown columns of the file's rows, in order.
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    for spec in LISTS {
        let csv = csv_rows(&dir, spec);
        // Times as the report shows them (`2025-03-20 10:00:00Z`).
        let shown: Vec<Vec<String>> = csv
            .iter()
            .map(|r| spec.shown.iter().map(|i| readable(&r[*i])).collect())
            .collect();
        assert!(!shown.is_empty(), "{}", spec.file);
        // The report shows a value as text; the file holds it defused as the API's CSV does.
        let report: Vec<Vec<String>> = report_rows(&html, spec.title)
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| crate::csv_text::defuse(c).into_owned())
                    .collect()
            })
            .collect();
        assert_eq!(report, shown, "{}", spec.file);
        let entry = m
            .files
            .iter()
            .find(|e| e.name == spec.file)
            .expect("listed");
        assert_eq!(entry.rows, Some(csv.len() as u64));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_period_not_yet_over_is_marked_on_every_page_and_the_paper_is_the_setting() {
    let f = seeded().await;
    let key = PackKey::from_seed([5u8; 32]);
    let render = |opts: &PackOptions| {
        let dir = temp_dir();
        let opts = opts.clone();
        let ports = f.state.ports.clone();
        let key = key.clone();
        async move {
            let m = write_pack(&dir, &ports, &key, &opts, Print::NotAsked)
                .await
                .expect("pack");
            let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
            let _ = std::fs::remove_dir_all(&dir);
            (m, html)
        }
    };
    // Over: no marker; A4; page numbers and the period in the page's margins.
    let (m, html) = render(&options(None)).await;
    assert!(
        !html.contains("NOT YET OVER") && !html.contains("not over"),
        "{html}"
    );
    assert!(
        !m.notes.iter().any(|n| n.contains("not over")),
        "{:?}",
        m.notes
    );
    assert!(html.contains("@page{size:A4;"), "{html}");
    assert!(html.contains("counter(page)") && html.contains("counter(pages)"));
    assert!(html.contains(
        "@top-left{content:\"Evidence pack: 2025-03-01T00:00:00Z to 2025-04-01T00:00:00Z"
    ));
    // Every table's header row is a <thead>: printing repeats it on each page the table spans.
    assert_eq!(
        html.matches("<table").count(),
        html.matches("<thead>").count()
    );
    assert!(
        m.notes
            .iter()
            .any(|n| n.contains("report.pdf not asked for (--no-pdf)")),
        "{:?}",
        m.notes
    );

    // Not over when made (to = 2025-04-01, made 2025-03-20), on Letter.
    let open = PackOptions {
        now: NOW,
        ..options(None)
    }
    .with_paper(Paper::Letter);
    let (m, html) = render(&open).await;
    assert!(html.contains("@page{size:letter;"), "{html}");
    assert!(
        html.contains("@top-right{content:\"PERIOD NOT YET OVER: made 2025-03-20T10:00:00Z\""),
        "{html}"
    );
    assert!(
        html.contains("This period is not over"),
        "and at the top of the page"
    );
    assert!(
        m.notes.iter().any(|n| n.contains("the period is not over")),
        "{:?}",
        m.notes
    );
}

#[test]
fn the_paper_setting_is_a4_by_default_letter_when_asked_and_named_when_bad() {
    let read = |v: Option<&str>| {
        let pairs: Vec<(&str, &str)> = v.map(|v| ("EVIDENCE_PAPER", v)).into_iter().collect();
        crate::setting::read_pairs(&pairs, Paper::from_reader)
    };
    assert_eq!(read(None), (Paper::A4, vec![]));
    assert_eq!(read(Some("letter")), (Paper::Letter, vec![]));
    assert_eq!(read(Some("A4")), (Paper::A4, vec![]));
    let (_, errors) = read(Some("legal"));
    assert_eq!(errors, ["EVIDENCE_PAPER: expected A4 or Letter"]);
}

#[test]
fn the_manifest_says_why_there_is_no_pdf() {
    let asked = Print::NotAsked.note().expect("a note");
    assert!(
        asked.contains("not asked for") && !asked.contains("Chromium"),
        "{asked}"
    );
    let missing = Print::NoChromium.note().expect("a note");
    assert!(missing.contains("no Chromium on PATH"), "{missing}");
}

#[tokio::test]
async fn a_bastion_no_host_goes_by_is_refused_naming_the_hosts_there_are() {
    let f = seeded().await;
    let ports = &f.state.ports;
    session(
        ports,
        "other",
        "Bas-B",
        NOW - Duration::days(5),
        "connected",
    )
    .await;
    for ok in [None, Some("bas-a"), Some("BAS-B")] {
        let opts = options(ok);
        assert!(check_bastion(ports, &opts).await.is_ok(), "{ok:?}");
    }
    let opts = options(Some("bas-c"));
    match check_bastion(ports, &opts).await {
        Err(e @ BastionCheck::Unknown { .. }) => {
            let text = e.to_string();
            assert!(text.contains("\"bas-c\""), "{text}");
            assert!(text.contains("\"bas-a\", \"bas-b\""), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_custody_event_names_the_person_vm_and_host_in_the_file_and_the_report_alike() {
    use crate::catalogue::recording::{Deletion, STATUS_DELETED_OUTSIDE};
    let f = seeded().await;
    let ports = &f.state.ports;
    let mut s = SessionRecord::new("late");
    s.bastion_host = "bas-a".into();
    s.user_name = "administrator".into();
    s.user_email = "late@contoso.com".into();
    s.target_vm = "vm-late".into();
    s.session_start = Some(NOW - Duration::days(4));
    let t = NOW - Duration::days(3);
    let mut gone = crate::testkit::audit::recording_row("late.mp4", t);
    gone.status = STATUS_DELETED_OUTSIDE.into();
    gone.deletion = Some(Deletion {
        at: crate::dates::format_utc(t),
        reason: "outside-retention".into(),
        invocation_id: String::new(),
        request_id: String::new(),
    });
    let gone = super::tables_tests::joined_to(gone, &s);
    crate::testkit::upsert(
        ports.tables.as_ref(),
        crate::catalogue::RECORDINGS_TABLE,
        json!(gone.to_entity()),
    )
    .await;
    let dir = temp_dir();
    let key = PackKey::from_seed([5u8; 32]);
    write_pack(&dir, ports, &key, &options(None), Print::NotHere)
        .await
        .expect("pack");
    let text = std::fs::read_to_string(dir.join("custody.csv")).expect("custody");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    assert_eq!(rows.len(), 1, "{text}");
    let col = |name: &str| {
        let i = head.iter().position(|h| h == name).expect(name);
        rows[0][i].to_owned()
    };
    let who = ["person", "vmUser", "vm", "bastionHost"].map(col);
    assert_eq!(
        who,
        ["late@contoso.com", "administrator", "vm-late", "bas-a"]
    );
    // The report's row is the file's: at, event, the recording by its blob (its long id only in
    // the file), then the same four.
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    let report = report_rows(&html, "Recordings deleted outside retention or replaced");
    assert_eq!(report.len(), 1);
    assert_eq!(report[0][..2], [readable(&col("at")), col("event")]);
    assert_eq!(report[0][2], "recordings/late.mp4");
    assert!(!html.contains(&col("recordingId")), "the id in the report");
    assert_eq!(report[0][3..], who);
    let _ = std::fs::remove_dir_all(&dir);
}
