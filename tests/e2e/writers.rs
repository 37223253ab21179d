//! One writer per table, checked from the source: a table's name constant is handed to a write
//! (`write`, `write_creating_table`, `update*`, `delete`, `batch`, `upsert_batched`, `mark`) only in
//! its owning file; every other module goes through that file's functions. Read as text, outside
//! comments and test code, as `layers.rs` reads it.

use std::path::Path;

use crate::layers::{code, rust_files};

/// Each table's name constant and the one file (under `src/`) that writes it.
const OWNERS: &[(&str, &str)] = &[
    ("DELETIONS_TABLE", "retention/tombstone.rs"),
    ("HOLDS_TABLE", "retention/hold/rows.rs"),
    ("LIVE_TABLE", "estate/live.rs"),
    ("ESTATE_TABLE", "estate/store/mod.rs"),
    ("FAILED_TABLE", "audit_logs/detect/failed.rs"),
    ("QUEUE_TABLE", "reviews/queue/entry.rs"),
];

/// The calls that change a table when handed its name.
const WRITES: &[&str] = &[
    "write",
    "write_creating_table",
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

/// `file (CONSTANT)` for every write of an owned table outside its owner.
fn second_writers(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src").to_string_lossy();
        let text = code(&std::fs::read_to_string(&file).expect("read"));
        for (name, owner) in OWNERS.iter().filter(|(_, owner)| *owner != rel) {
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let writes = text.match_indices(name).any(|(i, _)| {
                !word(text[..i].chars().next_back())
                    && !word(text[i + name.len()..].chars().next())
                    && WRITES.contains(&callee(&text, i))
            });
            if writes {
                out.push(format!("src/{rel} writes {name} (owner: src/{owner})"));
            }
        }
    }
    out.sort();
    out
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
