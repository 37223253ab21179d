//! The spine's own rules, and the walk of the declarations: each kind reaches every channel it
//! names.

use serde_json::{Value, json};
use time::macros::datetime;

use super::kinds::{ESTATE_FINDING, all, estate_code, named};
use super::*;
use crate::catalogue::days::DayRow;
use crate::catalogue::session::{SessionRecord, outcome::LOGIN_FAILED};
use crate::evidence::{authorized, doors, lists, pack, reach, source};
use crate::reviews::ReviewSettings;
use crate::reviews::queue::risk::{Context, assess};

/// The placeholders of `title` (without their `!`).
fn placeholders(title: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for part in title.split('{').skip(1) {
        let name = part.split('}').next().unwrap_or_default();
        out.push(&*Box::leak(
            name.trim_end_matches('!').to_owned().into_boxed_str(),
        ));
    }
    out
}

/// A finding of `kind` at `level` with every declared evidence field and title word.
fn sample(kind: &'static Kind, level: Severity) -> Finding {
    let evidence: serde_json::Map<String, Value> = kind
        .fields()
        .map(|f| (f.to_owned(), json!(format!("{f}-value"))))
        .collect();
    let mut f = Finding::new(
        kind,
        "fact",
        "2025-03-14T09:00:00Z",
        level,
        Value::Object(evidence),
    );
    for w in placeholders(kind.title) {
        f = f.word(w, format!("<{w}>"));
    }
    f
}

#[test]
fn titles_take_their_words_isolate_marked_ones_and_keep_unknown_ones() {
    let w = vec![("a", "x".to_owned()), ("b", "y{z}".to_owned())];
    assert_eq!(
        fill("{a} and {b!} and {c} {", &w),
        "x and \u{2068}y{z}\u{2069} and {c} {"
    );
    assert_eq!(fill("plain", &[]), "plain");
}

#[test]
fn ids_are_the_facts_digest_or_follow_the_earlier_alert() {
    let f = sample(&kinds::SESSION_UNRECORDED, Severity::Warning);
    assert_eq!(
        alert(f).notification_id,
        stable_id("session.unrecorded", "fact")
    );
    let f = sample(&kinds::RECORDING_ACTOR, Severity::Critical);
    assert_eq!(alert(f).notification_id, "fact.actor");
}

#[test]
fn every_declared_kind_reaches_every_channel_it_names() {
    let files: Vec<&str> = (source::Kind::ALL.iter().map(|k| k.file().0))
        .chain(lists::LISTS.iter().map(|l| l.file))
        .chain(authorized::LISTS.iter().map(|l| l.file))
        .chain([pack::INTEGRITY, reach::REACH_FILE, doors::DOORS_FILE])
        .collect();
    let routes = include_str!("../api/mod.rs");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // A failed login: nothing of its own puts it in the review queue.
    let mut failed = SessionRecord::new("t");
    failed.session_start = Some(datetime!(2025-03-14 03:00 UTC));
    failed.outcome = LOGIN_FAILED.into();
    let quiet = DayRow::of(&failed).expect("row");
    // A session past the login, unrecorded, unreviewed, no authorization covering it: listed
    // under every session kind whose declaration names one of the pack's lists.
    let mut bare = SessionRecord::new("u");
    bare.session_start = Some(datetime!(2025-03-14 03:00 UTC));
    bare.outcome = crate::catalogue::session::outcome::CONNECTED.into();
    let mut bare = DayRow::of(&bare).expect("row");
    bare.authorization = "none".into();
    let listed: Vec<&str> = (lists::listed(&bare, None, time::Duration::hours(24)).iter())
        .map(|(file, _)| *file)
        .collect();
    let session_lists: Vec<&str> = (lists::LISTS.iter().chain(&authorized::LISTS))
        .map(|l| l.file)
        .collect();
    let settings = ReviewSettings::default();
    for kind in all() {
        let who = format!("{} {}", kind.name, kind.form);
        assert_eq!(
            named(kind.name, kind.form),
            Some(kind),
            "{who}: declared twice"
        );
        assert!(!kind.levels.is_empty() && !kind.title.is_empty(), "{who}");
        for level in kind.levels {
            let n = alert(sample(kind, *level));
            assert_eq!((n.kind.as_str(), n.severity), (kind.name, *level), "{who}");
            assert!(!n.title.contains('{'), "{who}: {}", n.title);
            for w in placeholders(kind.title) {
                assert!(
                    n.title.contains(&format!("<{w}>")),
                    "{who}: word {w} not shown"
                );
            }
            let row = sentinel::detection_row(&n, datetime!(2025-03-15 00:00 UTC));
            assert_eq!(row.detection_type, kind.name, "{who}");
            assert_eq!(row.notification_id, n.notification_id, "{who}");
            for f in kind.fields() {
                assert_eq!(row.data[f], format!("{f}-value"), "{who}: {f} not exported");
            }
        }
        if let Some((table, rule)) = kind.rule {
            let text =
                std::fs::read_to_string(root.join("sentinel/rules").join(rule)).unwrap_or_default();
            assert!(text.contains(table.as_str()), "{who}: rule {rule}");
            // A detection rule names its type, a finding rule its code.
            let named = match table {
                crate::export::Table::Detections => kind.name,
                crate::export::Table::Findings => kind.form,
                _ => "",
            };
            assert!(text.contains(&format!("\"{named}")), "{who}: rule {rule}");
        }
        if let Some(file) = kind.pack {
            assert!(files.contains(&file), "{who}: the pack writes no {file}");
            if kind.subject == Subject::Session && session_lists.contains(&file) {
                assert!(
                    listed.contains(&file),
                    "{who}: a session of it is not in {file}"
                );
            }
        }
        if let Some(route) = kind.api {
            assert!(
                routes.contains(&format!(".route(\"{route}\"")),
                "{who}: no route {route}"
            );
        }
        if let Some(reason) = kind.review {
            let ctx = Context {
                raised: vec![kind],
                first_to_vm: false,
            };
            let now = datetime!(2025-03-15 00:00 UTC);
            let (score, why) = assess(&quiet, &ctx, &settings, now);
            assert_eq!((score, why), (reason.weight, vec![reason]), "{who}: queue");
        }
        // The other half of an episode: in the same form, else the one all forms share.
        let pair = |other| {
            named(other, kind.form)
                .or_else(|| named(other, ""))
                .map(|k| k.episode)
        };
        match kind.episode {
            Episode::OneShot => {}
            Episode::Opens(other) => {
                assert_eq!(pair(other), Some(Episode::Resolves(kind.name)), "{who}");
            }
            Episode::Resolves(other) => {
                assert_eq!(pair(other), Some(Episode::Opens(kind.name)), "{who}");
            }
        }
    }
}

#[test]
fn each_estate_code_is_declared_and_an_undeclared_one_is_told_as_the_shared_kind() {
    let off = estate_code("recording-off");
    assert_eq!((off.name, off.form), (ESTATE_FINDING.name, "recording-off"));
    assert_eq!(off.levels, &[Severity::Critical]);
    assert!(off.rule.is_some() && estate_code("door:jit").pack == Some(kinds::OTHER_DOORS));
    assert!(estate_code("attempt:jit").pack.is_none());
    assert_eq!(estate_code("a-code-of-old"), &ESTATE_FINDING);
    let n = alert(sample(
        estate_code("check-failed:network"),
        Severity::Warning,
    ));
    assert_eq!(n.kind, "estate.finding");
    assert_eq!(n.notification_id, stable_id("estate.finding", "fact"));
}

/// Every kind `/api/estate` is declared to show is listed by it: each code opened on a host at a
/// declared level (a kind all codes share by a code no longer declared), a resolving kind's
/// episode opened and cleared, then read through the route.
#[tokio::test]
async fn every_kind_declared_on_the_estate_route_is_listed_by_it() {
    use crate::estate::findings::Finding as Found;
    use crate::estate::level::Level;
    use crate::estate::store::apply_one;
    let f = crate::testkit::fakes();
    let tables = f.state.ports.tables.as_ref();
    let host = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b1";
    let at = datetime!(2025-03-14 09:00 UTC);
    let mut shown = Vec::new();
    for kind in all().filter(|k| k.api == Some("/api/estate")) {
        let code = match kind.form {
            "" => format!("undeclared-{}", kind.name),
            form => form.to_owned(),
        };
        let level = Level::ALL
            .into_iter()
            .find(|l| kind.levels.contains(&l.severity()));
        let found = Found {
            code: code.clone(),
            level: level.expect("a declared level"),
            evidence: "seen".into(),
        };
        apply_one(tables, host, &code, Some(found), at)
            .await
            .expect("open");
        let status = if let Episode::Resolves(_) = kind.episode {
            let later = at + time::Duration::minutes(15);
            apply_one(tables, host, &code, None, later)
                .await
                .expect("clear");
            "resolved"
        } else {
            "open"
        };
        shown.push((code, status));
    }
    let settings = crate::api::ApiSettings::key_only();
    let req = axum::http::Request::get("/api/estate").body(axum::body::Body::empty());
    let res = tower::ServiceExt::oneshot(
        crate::api::routes_with(f.state.clone(), settings),
        req.expect("request"),
    );
    let body = axum::body::to_bytes(res.await.expect("answer").into_body(), 1 << 24);
    let doc: Value = serde_json::from_slice(&body.await.expect("body")).expect("json");
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        shown.len(),
        kinds::CODES.len() + 2,
        "the codes and the kinds they share"
    );
    // Each episode's `BastionFindings_CL` row, made from its stored row as the check records it.
    let all = crate::tables::Filter::str("PartitionKey", crate::tables::filter::Op::Ge, "");
    let stored =
        crate::tables::ops::query_all(tables, crate::estate::store::ESTATE_TABLE, &all, 1000);
    let rows: Vec<_> = (stored.await.expect("estate rows").iter())
        .filter_map(|s| sentinel::episode_row(&s.entity))
        .collect();
    for (code, status) in shown {
        let listed = |i: &Value| i["finding"] == code.as_str() && i["status"] == status;
        assert!(
            items.iter().any(listed),
            "{code} {status} not listed: {doc}"
        );
        let exported =
            |r: &&crate::export::rows::FindingRow| r.finding == code && r.status == status;
        assert!(
            rows.iter().any(|r| exported(&r)),
            "{code} {status}: no Sentinel row"
        );
    }
    assert_eq!(
        rows.len(),
        kinds::CODES.len() + 2,
        "one row per episode, none for the host's"
    );
}
