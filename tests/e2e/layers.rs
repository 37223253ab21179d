//! The layers, checked from the source: a module may name (`crate::<module>`) only modules of its
//! own layer or below. Read as text, outside comments and `#[cfg(test)] mod tests` blocks: an
//! import, a path in code or a fully qualified call all count, so a shortcut cannot hide in a
//! `use` written elsewhere.
//!
//! Layers, lowest first: plumbing (time, settings reader, telemetry, `Retry-After`), ports (blob,
//! table and queue stores), protocol (host envelopes, Event Grid events), then everything above, which is not yet
//! layered further.

use std::path::Path;

/// Top-level modules by layer, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "plumbing",
        &["clock", "dates", "retry_after", "setting", "telemetry"],
    ),
    ("ports", &["storage", "tables", "queues"]),
    ("protocol", &["invocation", "events"]),
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, ms)| ms.contains(&module))
        .unwrap_or(LAYERS.len())
}

fn layer_name(i: usize) -> &'static str {
    LAYERS.get(i).map_or("domain and entry points", |(n, _)| n)
}

/// The code of a source file without comments and without its inline test module.
fn code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            if !path.ends_with("tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("tests.rs"))
        {
            out.push(path);
        }
    }
}

/// `(file, named module)` pairs where a lower layer names a higher one.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let top = rel
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .unwrap_or_default();
        let own = layer_of(&top);
        let text = code(&std::fs::read_to_string(&file).expect("read"));
        for (i, _) in text.match_indices("crate::") {
            let named: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let theirs = layer_of(&named);
            if theirs > own && named != top {
                found.push(format!(
                    "src/{} ({}) names crate::{named} ({})",
                    rel.display(),
                    layer_name(own),
                    layer_name(theirs)
                ));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports against the layers:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    let dir = std::env::temp_dir().join(crate::harness::unique("layers-"));
    std::fs::create_dir_all(dir.join("storage")).expect("mkdir");
    std::fs::write(
        dir.join("storage/mod.rs"),
        "//! ok: crate::recordings in a comment\nuse crate::telemetry::redact;\nfn f() { crate::recordings::handle(); }\n#[cfg(test)]\nmod tests {\nuse crate::app::AppState;\n}\n",
    )
    .expect("write");
    std::fs::write(dir.join("recordings.rs"), "use crate::app::AppState;\n").expect("write");
    let found = violations(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        ["src/storage/mod.rs (ports) names crate::recordings (domain and entry points)"]
    );
}
