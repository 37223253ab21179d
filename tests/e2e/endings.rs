//! Errors are converted once, at the edges: the invocation's ending (`Failure`, Retryable or
//! Poison) is the host protocol's word, named only by the protocol (`invocation/`) and the entry
//! points (`functions/`, `api/`, `cli/`, `backfill/`) and the app. A domain returns its own error
//! or the port's (`AzureError`), and `functions/` converts it with one `From`. Read as text,
//! outside comments, string literals and test code, as `layers.rs` reads it.

use std::path::Path;

use crate::layers::{code, rust_files};

/// The top-level modules that may name the invocation's ending.
const EDGES: &[&str] = &["invocation", "functions", "api", "cli", "backfill", "app"];

/// `text` without its string and character literals and its end-of-line comments.
fn without_literals(text: &str) -> String {
    let (mut out, mut chars) = (String::new(), text.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // Raw strings (`r"…"`, `r#"…"#`) hold no escapes; their hashes close them.
                let hashes = out.chars().rev().take_while(|h| *h == '#').count();
                let raw = out.trim_end_matches('#').ends_with('r');
                while let Some(s) = chars.next() {
                    if s == '\\' && !raw {
                        chars.next();
                    } else if s == '"' && (0..hashes).all(|_| chars.next_if_eq(&'#').is_some()) {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            // A character literal (`'"'`, `'\''`), not a lifetime (`'a`).
            '\'' => match (chars.next(), chars.peek()) {
                (Some('\\'), _) => {
                    chars.by_ref().take_while(|s| *s != '\'').for_each(drop);
                }
                (Some(_), Some('\'')) => {
                    chars.next();
                }
                (Some(s), _) => out.push(s),
                (None, _) => {}
            },
            '/' if chars.peek() == Some(&'/') => {
                chars.by_ref().take_while(|s| *s != '\n').for_each(drop);
                out.push('\n');
            }
            c => out.push(c),
        }
    }
    out
}

/// Files outside the edges that name `Failure` or the module that defines it.
fn failure_outside_edges(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let top = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy());
        let top = top.as_deref().unwrap_or_default().trim_end_matches(".rs");
        if EDGES.contains(&top) {
            continue;
        }
        let text = without_literals(&code(&std::fs::read_to_string(&file).expect("read")));
        let names = text
            .match_indices("Failure")
            .any(|(i, w)| !text[..i].ends_with(ident) && !text[i + w.len()..].starts_with(ident));
        if names || text.contains("invocation::failure") {
            out.push(format!("src/{}", rel.display()));
        }
    }
    out.sort();
    out
}

#[test]
fn no_domain_names_the_invocations_ending() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = failure_outside_edges(&src);
    assert!(
        found.is_empty(),
        "files below the entry points naming `Failure` (return the domain's error or the port's, \
         converted by one `From` in src/functions/ending.rs):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_check_sees_a_domain_naming_the_ending() {
    let dir = std::env::temp_dir().join(crate::harness::unique("endings-"));
    for d in [
        "recordings/tests",
        "join",
        "functions",
        "invocation",
        "estate",
    ] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    let files = [
        (
            "recordings/mod.rs",
            "use crate::invocation::Failure;\nfn f() -> Result<(), Failure> { Ok(()) }\n",
        ),
        (
            "join/mod.rs",
            "fn f() { crate::invocation::failure::Stage::Processing; }\n",
        ),
        (
            "estate/mod.rs",
            "//! A `Failure` row.\nconst S: &[&str] = &[\"Failure\", r#\"a \"Failure\"\"#];\nfn f<'a>(c: char) -> bool { c == '\"' } // Failure\nstruct NoFailure; type Failures = ();\n",
        ),
        ("estate/tests.rs", "use crate::invocation::Failure;\n"),
        (
            "recordings/tests/mod.rs",
            "use crate::invocation::Failure;\n",
        ),
        ("functions/mod.rs", "use crate::invocation::Failure;\n"),
        (
            "invocation/mod.rs",
            "pub mod failure;\npub use failure::Failure;\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let found = failure_outside_edges(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found, ["src/join/mod.rs", "src/recordings/mod.rs"]);
}
