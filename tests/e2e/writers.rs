//! One writer per table, checked from the source: a table's name constant is handed to a write
//! (`write`, `write_creating_table`, `insert_once`, `update*`, `delete`, `batch`, `upsert_batched`,
//! `mark`) only in its owning file; every other module goes through that file's functions. The catalogue owns its
//! reads too: no file outside `src/catalogue/` names one of its tables. Read as text, outside
//! comments and test code, as `layers.rs` reads it; `testkit/` (compiled for tests only) forges
//! rows on purpose and is not read.

use std::path::Path;

use crate::layers::{code, rust_files};

/// Each table's name constant and the one file (under `src/`) that writes it.
const OWNERS: &[(&str, &str)] = &[
    ("DELETIONS_TABLE", "retention/tombstone.rs"),
    ("HOLDS_TABLE", "retention/hold/rows.rs"),
    ("LIVE_TABLE", "estate/live.rs"),
    ("WORK_TABLE", "fanout/store.rs"),
    ("PAUSE_TABLE", "fanout/pauses.rs"),
    ("BUDGET_TABLE", "authorization/budget.rs"),
    ("ESTATE_TABLE", "estate/store/mod.rs"),
    ("FAILED_TABLE", "audit_logs/detect/failed.rs"),
    ("QUEUE_TABLE", "reviews/queue/entry.rs"),
    ("RECORDINGS_TABLE", "catalogue/repo.rs"),
    ("DAYS_TABLE", "catalogue/days.rs"),
    ("SESSIONS_TABLE", "catalogue/session/write.rs"),
    ("ACCESS_AUDIT_TABLE", "catalogue/access.rs"),
    ("INDEX_TABLE", "catalogue/key.rs"),
    ("CHANGES_TABLE", "catalogue/changes.rs"),
    ("RECORDING_PATHS_TABLE", "catalogue/repo.rs"),
    ("RECORDING_KEYS_TABLE", "catalogue/key.rs"),
];

/// The calls that change a table when handed its name.
const WRITES: &[&str] = &[
    "write",
    "write_creating_table",
    "insert_once",
    "update",
    "update_with",
    "update_from",
    "delete",
    "batch",
    "upsert_batched",
    "mark",
];

/// The function whose argument list holds byte `at` of `text`: the name before the innermost
/// parenthesis still open there.
fn callee(text: &str, at: usize) -> &str {
    let mut depth = 0usize;
    for (i, c) in text[..at].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => {
                let head = text[..i].trim_end();
                let start = head
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(0, |p| p + 1);
                return &head[start..];
            }
            '(' => depth -= 1,
            _ => {}
        }
    }
    ""
}

/// Each product file under `src` (not `testkit/`) by its path there, with its code.
fn product_code(src: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let rel = |f: &Path| {
        f.strip_prefix(src)
            .expect("under src")
            .to_string_lossy()
            .into_owned()
    };
    let mut out: Vec<_> = files
        .iter()
        .map(|f| (rel(f), f))
        .filter(|(rel, _)| !rel.starts_with("testkit/"))
        .map(|(rel, f)| (rel, code(&std::fs::read_to_string(f).expect("read"))))
        .collect();
    out.sort();
    out
}

/// Where `name` stands as a whole word in `text`.
fn named_at<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = usize> + 'a {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(name).map(|(i, _)| i).filter(move |&i| {
        !word(text[..i].chars().next_back()) && !word(text[i + name.len()..].chars().next())
    })
}

/// `file (CONSTANT)` for every write of an owned table outside its owner.
fn second_writers(src: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in product_code(src) {
        for (name, owner) in OWNERS.iter().filter(|(_, owner)| *owner != rel) {
            if named_at(&text, name).any(|i| WRITES.contains(&callee(&text, i))) {
                out.push(format!("src/{rel} writes {name} (owner: src/{owner})"));
            }
        }
    }
    out
}

/// `file (CONSTANT)` for every file outside the catalogue that names one of its tables.
fn catalogue_readers(src: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in product_code(src) {
        let theirs = OWNERS
            .iter()
            .filter(|(_, owner)| owner.starts_with("catalogue/"));
        for (name, _) in theirs.filter(|_| !rel.starts_with("catalogue/")) {
            if named_at(&text, name).next().is_some() {
                out.push(format!("src/{rel} names {name}"));
            }
        }
    }
    out
}

#[test]
fn the_catalogue_owns_its_reads() {
    let none: [&str; 0] = [];
    assert_eq!(
        catalogue_readers(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")),
        none,
        "a catalogue table is read outside the catalogue"
    );
}

#[test]
fn the_reader_check_sees_a_read_outside_the_catalogue() {
    let dir = std::env::temp_dir().join(crate::harness::unique("readers-"));
    for d in ["catalogue", "join", "testkit"] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    let files = [
        (
            "catalogue/days.rs",
            "pub async fn query() { query_all(t, DAYS_TABLE, f, 1) }\n",
        ),
        (
            "join/reads.rs",
            "use crate::catalogue::days::{DAYS_TABLE, DayRow};\nfn r() { days::query(t) }\n",
        ),
        (
            "join/pass.rs",
            "// query_all(t, DAYS_TABLE)\nfn r() { MY_DAYS_TABLE }\n#[cfg(test)]\nmod tests {\nfn w() { get(t, DAYS_TABLE) }\n}\n",
        ),
        (
            "testkit/rows.rs",
            "fn forge() { write(t, DAYS_TABLE, &e) }\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let found = catalogue_readers(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found, ["src/join/reads.rs names DAYS_TABLE"]);
}

#[test]
fn each_table_has_one_writer() {
    let none: [&str; 0] = [];
    assert_eq!(
        second_writers(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")),
        none,
        "a table is written outside its owner"
    );
}

#[test]
fn the_writer_check_sees_a_second_writer() {
    let dir = std::env::temp_dir().join(crate::harness::unique("writers-"));
    std::fs::create_dir_all(dir.join("retention/sweep")).expect("mkdir");
    let files = [
        (
            "retention/tombstone.rs",
            "fn put() { write_creating_table(t, DELETIONS_TABLE, &e, WriteMode::Upsert) }\n",
        ),
        (
            "retention/sweep/alerts.rs",
            "fn forget() { tables.delete(\n  DELETIONS_TABLE, PK, &id(x), None) }\n",
        ),
        (
            "retention/sweep/announce.rs",
            "// write(t, DELETIONS_TABLE)\nfn read() { page(t, DELETIONS_TABLE, &f(x), 1) }\n#[cfg(test)]\nmod tests {\nfn w() { update(t, DELETIONS_TABLE) }\n}\n",
        ),
        (
            "retention/sweep/tables.rs",
            "const ALL: [&str; 1] = [MY_DELETIONS_TABLE];\nfn w() { write(t, MY_DELETIONS_TABLE) }\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let found = second_writers(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        [
            "src/retention/sweep/alerts.rs writes DELETIONS_TABLE (owner: src/retention/tombstone.rs)"
        ]
    );
}
