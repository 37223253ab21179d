//! `docs/architecture.md`, checked against the tree (no Azurite, no process): every source path it
//! names exists and every function routed in `src/app.rs` has its `## <Name>` section. No cap on a
//! path's files: a cap rewards leaving files off the map. When a file moves or a function is added,
//! this test names what the map has to say.
//!
//! Paths are read from the whole document: any `src/…` word, and any code span naming a file or a
//! folder (`catalogue/key.rs`, `functions/`: relative ones are read under `src/`). A function's
//! name is the string its route is registered with: the constant on the left of its
//! `name => function` line in `src/app.rs`'s `functions!(…)` list, read where `src/functions/`
//! defines or re-exports it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const DOC: &str = "docs/architecture.md";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `## ` sections: the heading's first word (the function's name) and the lines below it.
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in doc.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            let name = heading.split_whitespace().next().unwrap_or_default();
            out.push((name.to_owned(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// The source paths a text names, each as a path from the repository root (`src/…`, `tests/…`).
fn paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // Any `src/…` word, in a code span or not.
    let mut rest = text;
    while let Some(i) = rest.find("src/") {
        let before = rest[..i].chars().next_back();
        let word: String = rest[i..].chars().take_while(|&c| is_path_char(c)).collect();
        rest = &rest[i + 4..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/') {
            continue;
        }
        out.insert(word.trim_end_matches('.').to_owned());
    }
    // Code spans naming a file or a folder: `catalogue/key.rs`, `functions/`, `tests/e2e/layers.rs`.
    for span in text.split('`').skip(1).step_by(2) {
        let span = span.trim();
        let named = !span.is_empty()
            && span.chars().all(is_path_char)
            && span.contains('/')
            && !span.starts_with('/')
            && (span.ends_with(".rs") || span.ends_with('/'));
        if !named {
            continue;
        }
        if ["src/", "tests/", "benches/", "examples/", "docs/"]
            .iter()
            .any(|p| span.starts_with(p))
        {
            out.insert(span.to_owned());
        } else {
            out.insert(format!("src/{span}"));
        }
    }
    out
}

/// What is wrong with the document, given the repository root and the routed functions' names.
fn problems(doc: &str, root: &Path, routed: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for path in paths(doc) {
        if !root.join(&path).exists() {
            found.push(format!("{DOC} names `{path}`, which does not exist"));
        }
    }
    let sections = sections(doc);
    for name in routed {
        if !sections.iter().any(|(n, _)| n == name) {
            found.push(format!(
                "{name} is routed in src/app.rs but {DOC} has no `## {name}` section"
            ));
        }
    }
    found
}

/// `src/<a>/<b>.rs` or `src/<a>/<b>/mod.rs` for the module path `a::b`.
fn module_file(src: &Path, module: &[&str]) -> Option<PathBuf> {
    let base = module.iter().fold(src.to_path_buf(), |p, m| p.join(m));
    [base.with_extension("rs"), base.join("mod.rs")]
        .into_iter()
        .find(|p| p.is_file())
}

fn ends_word(text: &str) -> bool {
    !text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The string value of the constant `name` as seen from `file`: defined there
/// (`const NAME: &str = "…"`) or re-exported (`use crate::a::b::X as NAME`, also in a `{…}` group).
fn const_value(src: &Path, file: &Path, name: &str, depth: usize) -> Option<String> {
    if depth > 4 {
        return None;
    }
    let text = read(file);
    let def = format!("const {name}: &str = \"");
    if let Some(i) = text.find(&def) {
        let value = &text[i + def.len()..];
        return value.split('"').next().map(str::to_owned);
    }
    let alias = format!(" as {name}");
    let at = text
        .match_indices(&alias)
        .map(|(i, _)| i)
        .find(|&i| ends_word(&text[i + alias.len()..]))?;
    let start = text[..at].rfind("use crate::")? + "use crate::".len();
    let end = at + text[at..].find(';')?;
    let statement: String = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let target = match statement.split_once('{') {
        Some((prefix, group)) => {
            let item = group
                .trim_end_matches('}')
                .split(',')
                .map(str::trim)
                .find(|item| item.ends_with(&alias[1..]) && item.contains(" as "))?;
            let original = item.split(" as ").next()?.trim();
            format!("{}{original}", prefix.trim())
        }
        None => statement.split(" as ").next()?.trim().to_owned(),
    };
    let parts: Vec<&str> = target.split("::").collect();
    let (constant, module) = parts.split_last()?;
    const_value(src, &module_file(src, module)?, constant, depth + 1)
}

/// The names the functions are routed under in `src/app.rs`: the left side of each
/// `module::CONSTANT => module::function` in its `functions!(…)` list, read in
/// `src/functions/<module>`.
fn routed(root: &Path) -> Result<Vec<String>, Vec<String>> {
    let src = root.join("src");
    let app = read(&src.join("app.rs"));
    let mut names = Vec::new();
    let mut unread = Vec::new();
    let list = app.split_once("functions!(").map_or("", |(_, rest)| rest);
    let list = list.split_once("\n    )").map_or("", |(list, _)| list);
    for entry in list.lines().filter_map(|l| l.split_once("=>")) {
        let argument: String = entry.0.split_whitespace().collect();
        let value = argument.split_once("::").and_then(|(module, constant)| {
            let file = module_file(&src.join("functions"), &[module])?;
            const_value(&src, &file, constant, 0)
        });
        match value {
            Some(name) => names.push(name),
            None => unread.push(format!(
                "cannot read the name of `{argument}` routed in src/app.rs"
            )),
        }
    }
    if names.is_empty() && unread.is_empty() {
        unread.push("src/app.rs routes no function in its functions!(…) list".to_owned());
    }
    if unread.is_empty() {
        Ok(names)
    } else {
        Err(unread)
    }
}

#[test]
fn the_architecture_map_names_real_files_and_every_function() {
    let root = root();
    let names = routed(root).unwrap_or_else(|e| panic!("{}", e.join("\n")));
    let found = problems(&read(&root.join(DOC)), root, &names);
    assert!(found.is_empty(), "{DOC}:\n  {}", found.join("\n  "));
}

#[test]
fn the_architecture_check_reads_the_routed_names() {
    let names = routed(root()).unwrap_or_else(|e| panic!("{}", e.join("\n")));
    for name in [
        "RecordingCreated",
        "AuditLogTail",
        "Reconcile",
        "ReviewQueue",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
}

#[test]
fn the_architecture_check_sees_a_broken_map() {
    let mut doc = String::from("# Map\n\n## RecordingCreated (x)\n\n");
    for i in 1..=23 {
        doc.push_str(&format!(
            "{i}. `src/app.rs` and `moved/file{i}.rs` — a step.\n"
        ));
    }
    doc.push_str("\n## AuditLogTail (y)\n\n1. `src/app.rs` — routes it.\n");
    let routed = ["RecordingCreated".to_owned(), "EstateCheck".to_owned()];
    let found = problems(&doc, root(), &routed).join("\n");
    assert!(found.contains("`src/moved/file7.rs`"), "{found}");
    assert!(!found.contains("`src/app.rs`"), "{found}");
    assert!(found.contains("no `## EstateCheck` section"), "{found}");
    // No cap: a long path is not a broken map.
    assert!(!found.contains("distinct files"), "{found}");
}

/// Identifiers that named a second meaning of a word of the map's `## Words` section, and the word
/// of that meaning, which the section must list. Each retired identifier stays out of the code.
const RETIRED: [(&str, &str); 16] = [
    ("read_held", "read_unwritten"),
    ("HOURS_HELD", "Unwritten"),
    ("mark_pending", "mark_unchecked"),
    ("run_pending", "run_unchecked"),
    ("PENDING_PK", "INTENT_PK"),
    ("PENDING_PER_RUN", "UNCHECKED"),
    ("Pending", "Unsent"),
    ("two_person_pending", "Decision::Open"),
    ("reevaluation_pending", "*cut*"),
    ("tail_window", "tail_look_back"),
    ("reconcile_window", "reconcile_look_back"),
    ("failed_login_window", "failed_login_bucket"),
    ("burst_window", "burst_bucket"),
    ("due", "wait_end"),
    ("join_due", "rejoin_at"),
    ("NotDue", "NotExpired"),
];

/// The `(file, identifier)` pairs of `.rs` files under `dirs` whose words include a retired one
/// (`due` only in `src/estate/`, the one place it was retired so far).
fn retired_uses(root: &Path, dirs: &[&str]) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for d in dirs {
        walk(&root.join(d), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        if rel.ends_with("e2e/architecture.rs") {
            continue;
        }
        let text = read(&file);
        let words: BTreeSet<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        for (old, _) in RETIRED {
            let scoped = old != "due" || rel.starts_with("src/estate/");
            if scoped && words.contains(old) {
                found.push(format!("{rel}: {old}"));
            }
        }
    }
    found
}

#[test]
fn retired_words_stay_out_of_the_code_and_their_meanings_are_in_the_words_section() {
    let root = root();
    let doc = read(&root.join(DOC));
    let words = sections(&doc)
        .into_iter()
        .find(|(name, _)| name == "Words")
        .map(|(_, body)| body)
        .expect("a `## Words` section");
    for (_, new) in RETIRED {
        assert!(words.contains(new), "`## Words` does not name `{new}`");
    }
    let found = retired_uses(root, &["src", "benches", "tests"]);
    assert!(
        found.is_empty(),
        "retired identifiers:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_words_check_sees_a_retired_identifier() {
    let dir = std::env::temp_dir().join(format!("words-check-{}", std::process::id()));
    let src = dir.join("src/estate");
    std::fs::create_dir_all(&src).expect("temp dir");
    std::fs::write(
        src.join("a.rs"),
        "fn f() { blob::read_held(); let due = 1; }",
    )
    .expect("write");
    let found = retired_uses(&dir, &["src"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        ["src/estate/a.rs: read_held", "src/estate/a.rs: due"]
    );
}
