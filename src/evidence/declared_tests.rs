//! The pack's sections as the declarations name them (`Kind::pack`): a month holding a fact of
//! every declared kind with a pack file, packed, has a row of it in that file; and the same month
//! packed twice, at other times with another key, is the same pack but for its times, its key and
//! its signature.

use std::path::Path;

use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::lists_tests::seeded;
use super::options::PackOptions;
use super::tables_tests::{attempt, build, options, seed_host, temp_dir};
use crate::audit_logs::sessions::SessionRecord;
use crate::dates::format_utc;
use crate::estate::findings::{Evaluation, Finding, Level};
use crate::estate::store::apply_host;
use crate::pack::key::PackKey;
use crate::spine::kinds;

const VM: &str =
    "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm-shared";

/// A month with a fact of every kind the declarations file in a pack: `bas-a`'s unrecorded,
/// unreviewed and undecided sessions and their reviews ([`seeded`]); `bas-b`'s recording, its
/// tombstone and a recording deleted outside retention and replaced ([`seed_host`]); a burst of
/// failed logins; one VM account used by two people; a door open on that VM, whose network the
/// estate check could not read.
async fn month() -> crate::testkit::Fakes {
    let f = seeded().await;
    let ports = &f.state.ports;
    let tables = ports.tables.as_ref();
    seed_host(ports, "bas-b", "b", 3).await;
    let at = datetime!(2025-03-05 9:00 UTC);
    for i in 0..3 {
        let tunnel = format!("f{i}");
        attempt(
            ports,
            &tunnel,
            at + Duration::minutes(i),
            "eve",
            "198.51.100.4",
            "bas-b",
        )
        .await;
    }
    for (id, who) in [("s1", "alice@contoso.com"), ("s2", "bob@contoso.com")] {
        let mut s = SessionRecord::new(id);
        (s.bastion_host, s.user_name, s.user_email) = ("bas-b".into(), "admin".into(), who.into());
        (s.target_resource_id, s.target_vm) = (VM.into(), "vm-shared".into());
        s.outcome = crate::catalogue::session::outcome::CONNECTED.into();
        s.session_start = Some(at);
        s.session_end = Some(at + Duration::hours(1));
        let off = crate::export::Outbox::off();
        crate::catalogue::session::write::upsert(tables, &off, &s, None, at, &|_, _| None)
            .await
            .expect("session");
    }
    let found = |code: &str, evidence: &str| Finding {
        code: code.into(),
        level: Level::High,
        evidence: evidence.into(),
    };
    let ev = Evaluation {
        findings: vec![
            found(
                "door:run-command",
                "Run Command: latest succeeded by mallory@contoso.com",
            ),
            found(
                "check-failed:network",
                "the network interfaces could not be read",
            ),
        ],
        assessed: ["door:run-command", "check-failed:network"]
            .map(str::to_owned)
            .into(),
    };
    apply_host(tables, VM, &ev, None, datetime!(2025-03-03 8:00 UTC))
        .await
        .expect("estate");
    // The detector's pass over the marked windows (threshold 3) raises the burst.
    let bucket = options(None).burst_bucket;
    crate::audit_logs::detect::unchecked::run_unchecked(tables, &ports.sources, 3, bucket).await;
    f
}

#[tokio::test]
async fn every_declared_pack_section_lists_a_fact_of_its_kind() {
    let f = month().await;
    let dir = temp_dir();
    let key = PackKey::from_seed([5u8; 32]);
    let m = build(&f.state.ports, &key, &options(None), &dir)
        .await
        .expect("pack");
    let declared: Vec<_> = kinds::all().filter(|k| k.pack.is_some()).collect();
    assert!(
        declared.len() > 10,
        "the declarations name the pack's files"
    );
    for kind in declared {
        let (who, file) = (
            format!("{} {}", kind.name, kind.form),
            kind.pack.unwrap_or_default(),
        );
        let entry = m.files.iter().find(|e| e.name == file);
        let rows = entry
            .unwrap_or_else(|| panic!("{who}: the pack writes no {file}"))
            .rows;
        assert!(rows.unwrap_or(0) > 0, "{who}: no row in {file}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `text` with `now` and `key` (in both its forms) blanked.
fn blanked(text: &str, now: OffsetDateTime, key: &PackKey) -> String {
    text.replace(&format_utc(now), "<now>")
        .replace(&key.public_base64(), "<key>")
        .replace(&key.public_fingerprint(), "<fingerprint>")
}

/// A pack's files by name, the made-at times and the key blanked; the manifest without its
/// report's digest and size (the report holds the time); the signature left out.
fn contents(dir: &Path, now: OffsetDateTime, key: &PackKey) -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != super::manifest::SIGNATURE)
        .collect();
    names.sort();
    let read = |n: &str| blanked(&std::fs::read_to_string(dir.join(n)).expect(n), now, key);
    let manifest = |text: String| {
        let mut v: Value = serde_json::from_str(&text).expect("json");
        for f in v["files"].as_array_mut().expect("files") {
            if f["name"] == super::pdf::REPORT {
                (f["sha256"], f["size"]) = (Value::Null, Value::Null);
            }
        }
        serde_json::to_string_pretty(&v).expect("json")
    };
    names
        .into_iter()
        .map(|n| match n.as_str() {
            super::manifest::MANIFEST => (n.clone(), manifest(read(&n))),
            _ => (n.clone(), read(&n)),
        })
        .collect()
}

#[tokio::test]
async fn the_same_month_packed_twice_differs_only_in_its_times_key_and_signature() {
    let f = month().await;
    let packs = [
        (datetime!(2025-04-01 1:00 UTC), [5u8; 32]),
        (datetime!(2025-04-03 17:45 UTC), [9u8; 32]),
    ];
    let mut seen = Vec::new();
    for (now, seed) in packs {
        let (dir, key) = (temp_dir(), PackKey::from_seed(seed));
        let opts = PackOptions {
            now,
            ..options(None)
        };
        build(&f.state.ports, &key, &opts, &dir)
            .await
            .expect("pack");
        seen.push(contents(&dir, now, &key));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let names: Vec<&str> = seen[0].iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"report.html") && names.len() > 15,
        "{names:?}"
    );
    for ((name, a), (_, b)) in seen[0].iter().zip(&seen[1]) {
        assert!(a == b, "{name} differs:\n{}", first_difference(a, b));
    }
    assert_eq!(seen[0].len(), seen[1].len());
}

/// The lines around the first difference of `a` and `b`.
fn first_difference(a: &str, b: &str) -> String {
    let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let from = at.saturating_sub(200);
    let cut = |s: &str| {
        s.get(from..(at + 200).min(s.len()))
            .unwrap_or_default()
            .to_owned()
    };
    format!("{}\n---\n{}", cut(a), cut(b))
}
