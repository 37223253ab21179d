//! The pack counts as the screen and the queue do: a month over two Bastion hosts, seeded through
//! the real pipeline (audit records tailed, recordings catalogued and joined, reviews posted, the
//! `ReviewQueue` timer run), has recorded, unrecorded and failed sessions, sessions reviewed on
//! time (one a long session, on time by its end and late by its start), reviewed late and never
//! reviewed (overdue, or not due yet). Every session figure of the pack's `manifest.json` and of
//! its `report.html` table, per host and in total, equals what `GET /api/sessions` (each item's
//! outcome and recorded state, as the page's timeline shows them, and the `status` filter),
//! `GET /api/reviews` (the first review of each session against its due time) and
//! `GET /api/reviews/queue` (`dueAt`, `overdue`) show for the same period and host.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{KEY, cli, temp};
use crate::audit_logs::support::Env;
use crate::catalogue_sessions::http;
use crate::harness::{self, AzuriteEnv, HandlerProcess};

/// `REVIEW_DEADLINE_HOURS` of the run: ten days, so reviews made now are on time or late.
const DEADLINE_HOURS: i64 = 240;
const HOSTS: [&str; 2] = ["bas-fig-weu", "bas-fig-neu"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Recorded,
    Unrecorded,
    Failed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Review {
    None,
    OfSession,
    OfRecording,
}

struct Seeded {
    tunnel: String,
    host: usize,
    start: OffsetDateTime,
    end: OffsetDateTime,
    kind: Kind,
    review: Review,
}

/// (host, start days ago, length in hours, kind, review): see the module's doc.
const PLAN: [(usize, i64, i64, Kind, Review); 11] = [
    (0, 2, 1, Kind::Recorded, Review::OfSession), // on time
    (0, 11, 48, Kind::Recorded, Review::OfRecording), // on time by its end, late by its start
    (0, 15, 1, Kind::Unrecorded, Review::OfSession), // late
    (0, 20, 1, Kind::Unrecorded, Review::None),   // overdue
    (0, 1, 1, Kind::Unrecorded, Review::None),    // not due yet
    (0, 5, 0, Kind::Failed, Review::None),
    (0, 12, 0, Kind::Failed, Review::None),
    (1, 3, 1, Kind::Recorded, Review::OfRecording), // on time
    (1, 18, 1, Kind::Unrecorded, Review::None),     // overdue
    (1, 7, 0, Kind::Failed, Review::None),
    (1, 25, 1, Kind::Recorded, Review::None), // overdue
];

fn utc(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// One audit record of session `s` (user and VM its own: each the user's first to the VM).
fn record(s: &Seeded, i: usize, at: OffsetDateTime, message: &str, ended: bool) -> String {
    let host = HOSTS[s.host].to_uppercase();
    let mut props = json!({"userName": format!("user-{i}"), "protocol": "ssh",
        "clientIpAddress": format!("203.0.113.{}", 10 + i),
        "targetResourceId": format!("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-FIG-{i}"),
        "message": message, "tunnelId": s.tunnel});
    if ended {
        props["sessionStartTime"] = json!(utc(s.start));
        props["sessionEndTime"] = json!(utc(s.end));
    }
    let op = if ended { "disconnect" } else { "connect" };
    json!({"time": utc(at), "category": "BastionAuditLogs",
        "resourceId": format!("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{host}"),
        "operationName": format!("Microsoft.Network/BastionHost/{op}"), "properties": props})
    .to_string()
        + "\n"
}

async fn start() -> Option<Env> {
    let cs = harness::azurite()?;
    let mut env = AzuriteEnv::new(&cs);
    env.vars
        .insert("EVIDENCE_SIGNING_KEY".to_owned(), KEY.to_owned());
    env.vars.insert(
        "REVIEW_DEADLINE_HOURS".to_owned(),
        DEADLINE_HOURS.to_string(),
    );
    // The plan's recordings are all uploaded now, for sessions of the last 25 days: an estate whose
    // uploads lag that long sets the vouching lag to match (27 days), or they vouch for nothing.
    env.vars.insert(
        "RECORDING_VOUCH_LAG_HOURS".to_owned(),
        (27 * 24).to_string(),
    );
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    Some(Env::with(&cs, env, handler))
}

async fn get_json(e: &Env, path: &str) -> Value {
    let (s, body, _) = http(&e.handler, Method::GET, path, None, &[]).await;
    assert_eq!(s, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

async fn post_review(e: &Env, body: Value) {
    let (s, text, _) = http(
        &e.handler,
        Method::POST,
        "/api/reviews?code=k",
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(s, 201, "{text}");
}

/// Seeds the plan; returns the sessions and the recording id of each recorded one.
async fn seed(e: &Env, now: OffsetDateTime) -> (Vec<Seeded>, BTreeMap<String, String>) {
    let sessions: Vec<Seeded> = PLAN
        .iter()
        .enumerate()
        .map(|(i, (host, ago, hours, kind, review))| {
            let start = now - Duration::days(*ago) - Duration::minutes(90);
            Seeded {
                tunnel: format!("f16e0000-0000-4000-8000-{i:012}"),
                host: *host,
                start,
                end: start + Duration::hours(*hours) + Duration::minutes(5),
                kind: *kind,
                review: *review,
            }
        })
        .collect();
    let mut text = String::new();
    for (i, s) in sessions.iter().enumerate() {
        if s.kind == Kind::Failed {
            text += &record(s, i, s.start, "Login Failed", false);
        } else {
            text += &record(s, i, s.start, "Successfully Connected.", false);
            text += &record(s, i, s.end, "session ended", true);
        }
    }
    e.create(9).await;
    e.append(9, text.as_bytes()).await;
    e.tick().await;
    let mut recordings = BTreeMap::new();
    for s in sessions.iter().filter(|s| s.kind == Kind::Recorded) {
        let id = e.catalogue(&format!("PLACEHOLDER-{}", s.tunnel)).await;
        recordings.insert(s.tunnel.clone(), id);
    }
    // The recordings mark their sessions; the next ticks derive their recorded state.
    e.tick().await;
    e.tick().await;
    for s in &sessions {
        match s.review {
            Review::None => {}
            Review::OfSession => {
                post_review(e, json!({"session": s.tunnel, "verdict": "ok"})).await;
            }
            Review::OfRecording => {
                let id = &recordings[&s.tunnel];
                post_review(e, json!({"recording": id, "verdict": "ok"})).await;
            }
        }
    }
    let mut timer = harness::fixture("invocations/timer.invocation.json");
    timer["Metadata"]["sys"]["MethodName"] = json!("ReviewQueue");
    timer["Metadata"]["sys"]["UtcNow"] = json!(utc(OffsetDateTime::now_utc()));
    let (s, reply) = e.handler.invoke("ReviewQueue", &timer).await;
    assert_eq!(s, 200, "{reply}");
    (sessions, recordings)
}

/// The session figures of the screen for one host (or all): from the sessions list, the review
/// log and the queue.
async fn screen(e: &Env, period: &str, host: Option<&str>) -> BTreeMap<&'static str, u64> {
    let h = host.map(|h| format!("&bastion={h}")).unwrap_or_default();
    let list = |status: &str| format!("/api/sessions?{period}{h}{status}&limit=1000&code=k");
    let items = get_json(e, &list("")).await["items"]
        .as_array()
        .expect("items")
        .clone();
    // The page's kinds: a failed login whatever else it has, else recorded or not.
    let failed = |i: &Value| i["outcome"] == "failed-login";
    let n = |f: &dyn Fn(&Value) -> bool| items.iter().filter(|i| f(i)).count() as u64;
    let mut out = BTreeMap::new();
    out.insert("sessions", items.len() as u64);
    out.insert("recorded", n(&|i| !failed(i) && i["recorded"] == true));
    out.insert("unrecorded", n(&|i| !failed(i) && i["recorded"] == false));
    out.insert("failedLogins", n(&|i| failed(i)));
    // First review of each session (of it, or of a recording of it), from the review log.
    let reviews = get_json(e, &format!("/api/reviews?{period}{h}&limit=1000&code=k")).await;
    let mut first: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
    for r in reviews["items"].as_array().expect("items") {
        let at = parse(&r["reviewedAt"]);
        let t = r["tunnelId"].as_str().expect("tunnel").to_owned();
        let e = first.entry(t).or_insert(at);
        *e = (*e).min(at);
    }
    let due = |i: &Value| {
        let end = if i["end"].is_null() {
            &i["start"]
        } else {
            &i["end"]
        };
        parse(end) + Duration::hours(DEADLINE_HOURS)
    };
    let reviewed = |i: &Value| first.get(i["sessionId"].as_str().expect("id"));
    out.insert("reviewed", n(&|i| reviewed(i).is_some()));
    out.insert(
        "reviewedOnTime",
        n(&|i| reviewed(i).is_some_and(|at| *at <= due(i))),
    );
    // The queue: the overdue sessions of the period, each due when the list says.
    let queue = get_json(e, &format!("/api/reviews/queue?limit=500{h}&code=k")).await;
    let mut overdue = 0;
    for q in queue["items"].as_array().expect("items") {
        let Some(i) = items.iter().find(|i| i["sessionId"] == q["sessionId"]) else {
            continue;
        };
        assert_eq!(parse(&q["dueAt"]), due(i), "dueAt of {}", q["sessionId"]);
        overdue += u64::from(q["overdue"] == true);
    }
    out.insert("overdue", overdue);
    out
}

/// The counts of the list's `status` filter for one host (or all), by figure.
async fn by_status(e: &Env, period: &str, host: Option<&str>) -> BTreeMap<&'static str, u64> {
    let h = host.map(|h| format!("&bastion={h}")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for (key, status) in [
        ("recorded", "recorded"),
        ("unrecorded", "unrecorded"),
        ("failedLogins", "failed-login"),
    ] {
        let path = format!("/api/sessions?{period}{h}&status={status}&limit=1000&code=k");
        out.insert(
            key,
            get_json(e, &path).await["count"].as_u64().expect("count"),
        );
    }
    out
}

fn parse(v: &Value) -> OffsetDateTime {
    let s = v.as_str().unwrap_or_else(|| panic!("a time: {v}"));
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).expect("RFC 3339")
}

/// The per-host table of `report.html`: host (or `Total`) → column header → cell.
fn report_table(html: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let table = html
        .split("<caption>Per Bastion host</caption>")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the per-host table");
    let cells = |row: &str, tag: &str| -> Vec<String> {
        row.split(&format!("<{tag}>"))
            .skip(1)
            .map(|c| {
                let c = c.split(&format!("</{tag}>")).next().unwrap_or_default();
                c.replace("<bdi>", "").replace("</bdi>", "")
            })
            .collect()
    };
    let mut rows = table.split("<tr>").skip(1);
    let header = cells(rows.next().expect("header"), "th");
    rows.map(|r| {
        let c = cells(r, "td");
        let named = header.iter().cloned().zip(c.iter().cloned()).collect();
        (c[0].clone(), named)
    })
    .collect()
}

#[tokio::test]
async fn a_month_of_two_hosts_counts_in_the_pack_as_the_api_and_the_queue_do() {
    let Some(e) = start().await else { return };
    let now = OffsetDateTime::now_utc();
    let (sessions, _) = seed(&e, now).await;
    let (from, to) = (
        (now - Duration::days(29)).date().to_string(),
        now.date().to_string(),
    );
    let period = format!("from={from}&to={to}");

    let dir = temp("evidence-figures");
    let d = dir.to_str().expect("utf-8");
    let (code, out, err) = cli(&e, &["evidence", "--from", &from, "--to", &to, "--out", d]);
    assert_eq!(code, Some(0), "{out}{err}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    let table = report_table(&html);
    let columns = [
        ("sessions", "Sessions"),
        ("recorded", "Recorded"),
        ("unrecorded", "Unrecorded"),
        ("failedLogins", "Failed logins"),
        ("reviewed", "Reviewed"),
        ("reviewedOnTime", "Reviewed on time"),
        ("overdue", "Overdue"),
    ];
    let figures = &manifest["figures"];
    let scopes = [
        (None, "Total"),
        (Some(HOSTS[0]), HOSTS[0]),
        (Some(HOSTS[1]), HOSTS[1]),
    ];
    // Every mismatch, so one run names them all.
    let mut wrong: Vec<String> = Vec::new();
    for (host, row) in scopes {
        let pack = host.map_or(&figures["total"], |h| &figures["hosts"][h]);
        let shown = screen(&e, &period, host).await;
        for (key, column) in columns {
            if pack[key].as_u64() != Some(shown[key]) {
                wrong.push(format!(
                    "manifest {key} of {row}: {} where the screen shows {}",
                    pack[key], shown[key]
                ));
            }
            if table[row].get(column) != Some(&shown[key].to_string()) {
                wrong.push(format!(
                    "report.html {column} of {row}: {:?} where the screen shows {}",
                    table[row].get(column),
                    shown[key]
                ));
            }
        }
        for (key, n) in by_status(&e, &period, host).await {
            if n != shown[key] {
                wrong.push(format!(
                    "status filter {key} of {row}: {n} where the page shows {}",
                    shown[key]
                ));
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let coverage =
            shown["recorded"] as f64 * 100.0 / (shown["recorded"] + shown["unrecorded"]) as f64;
        let got = pack["coveragePercent"].as_f64();
        if got.is_none_or(|got| (got - coverage).abs() > 1e-9) {
            wrong.push(format!(
                "manifest coveragePercent of {row}: {got:?} where the screen gives {coverage}"
            ));
        }
        if table[row].get("Coverage %") != Some(&format!("{coverage:.1}")) {
            wrong.push(format!(
                "report.html Coverage % of {row}: {:?} where the screen gives {coverage:.1}",
                table[row].get("Coverage %")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the pack counts otherwise than the screen: {wrong:#?}"
    );

    // What the plan seeded, so no figure passes by being empty on both sides.
    let of = |h: usize, f: &dyn Fn(&Seeded) -> bool| {
        sessions.iter().filter(|s| s.host == h && f(s)).count() as u64
    };
    let fig = |h: usize, k: &str| figures["hosts"][HOSTS[h]][k].as_u64();
    for h in 0..2 {
        assert_eq!(
            fig(h, "unrecorded"),
            Some(of(h, &|s| s.kind == Kind::Unrecorded))
        );
        assert_eq!(
            fig(h, "failedLogins"),
            Some(of(h, &|s| s.kind == Kind::Failed))
        );
        assert_eq!(
            fig(h, "reviewed"),
            Some(of(h, &|s| s.review != Review::None))
        );
    }
    assert_eq!(
        (fig(0, "reviewedOnTime"), fig(0, "overdue")),
        (Some(2), Some(1)),
        "the long session is on time by its end; the one of a day ago is not due yet"
    );
    assert_eq!(
        (fig(1, "reviewedOnTime"), fig(1, "overdue")),
        (Some(1), Some(2))
    );
    // Each session's `kind` is the page's kind.
    let items = get_json(&e, &format!("/api/sessions?{period}&limit=1000&code=k")).await;
    for i in items["items"].as_array().expect("items") {
        let page = if i["outcome"] == "failed-login" {
            "failed-login"
        } else if i["recorded"] == true {
            "recorded"
        } else {
            "unrecorded"
        };
        assert_eq!(i["kind"], page, "{i}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
