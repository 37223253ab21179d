//! The spine's own rules, and the walk of the declarations: each kind reaches every channel it
//! names.

use serde_json::{Value, json};
use time::macros::datetime;

use super::kinds::{ESTATE_FINDING, all, estate_code, named};
use super::*;
use crate::evidence::{authorized, doors, lists, pack, reach, rows};

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
    let evidence: serde_json::Map<String, Value> = (kind.evidence.iter())
        .map(|f| ((*f).to_owned(), json!(format!("{f}-value"))))
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
    let files: Vec<&str> = (rows::Kind::ALL.iter().map(|k| k.file()))
        .chain(lists::LISTS.iter().map(|l| l.file))
        .chain(authorized::LISTS.iter().map(|l| l.file))
        .chain([pack::INTEGRITY, reach::REACH_FILE, doors::DOORS_FILE])
        .collect();
    let routes = include_str!("../api/mod.rs");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
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
            for f in kind.evidence {
                assert_eq!(row.data[f], format!("{f}-value"), "{who}: {f} not exported");
            }
        }
        if let Some((table, rule)) = kind.rule {
            let text =
                std::fs::read_to_string(root.join("sentinel/rules").join(rule)).unwrap_or_default();
            assert!(text.contains(table.name()), "{who}: rule {rule}");
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
        }
        if let Some(route) = kind.api {
            assert!(
                routes.contains(&format!(".route(\"{route}\"")),
                "{who}: no route {route}"
            );
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
