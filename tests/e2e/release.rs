//! The release `handler` holds no test double. The doubles and the kit live in the dev-only crate
//! `testkit/` (`bastion-testkit`), whose source `src/lib.rs` compiles only under `#[cfg(test)]`;
//! `src/` has no feature gate and no `testing` module, and every module it declares behind
//! `#[cfg(test)]` is test code. The release build's dep-info (`handler.d`, written by the compiler
//! beside the binary `scripts/package.sh` builds) lists every source file that went into it, and
//! none of them may be under `testkit/` or one of those modules.
//! Skips like the package test when the package is absent; `REQUIRE_PACKAGE=1` makes absence fail.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The modules `src/` declares only for tests, as paths relative to the crate root: `src/a/b.rs`
/// for a file module, `src/a/b/` for a folder.
fn gated_modules() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut gated = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        let rel = file.strip_prefix(root()).expect("under the crate");
        // `mod.rs`, `lib.rs` and `main.rs` declare children beside them; `x.rs` inside `x/`.
        let dir = match rel.file_stem().and_then(|s| s.to_str()) {
            Some("mod" | "lib" | "main") => rel.parent().expect("parent").to_path_buf(),
            _ => rel.with_extension(""),
        };
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if line != "#[cfg(test)]" {
                continue;
            }
            // Past the module's other attributes (`#[path = …]`, `#[allow(…)]`).
            let Some(next) = lines.by_ref().find(|l| !l.starts_with("#[")) else {
                break;
            };
            let name = next
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ")
                .strip_prefix("mod ")
                .and_then(|n| n.strip_suffix(';'));
            if let Some(name) = name {
                let base = dir.join(name);
                gated.push(if root().join(&base).is_dir() {
                    format!("{}/", base.display())
                } else {
                    format!("{}.rs", base.display())
                });
            }
        }
    }
    gated.sort();
    gated
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn src_holds_no_test_double() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let rel = file.strip_prefix(root()).expect("under the crate");
        for line in text.lines().map(str::trim) {
            assert!(
                !line.starts_with("#[cfg(feature") && !line.contains("cfg(any(test, feature"),
                "{}: a feature gate in src/: {line}",
                rel.display()
            );
            let declared = line
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ")
                .strip_prefix("mod ");
            assert!(
                declared.is_none_or(|m| m != "testing;" && m != "testing {"),
                "{}: a `testing` module in src/",
                rel.display()
            );
        }
    }
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        !manifest.contains("\"test-support\"") && !manifest.contains("[features]"),
        "Cargo.toml declares a feature"
    );
    // The kit's source is compiled into the crate for its unit tests only.
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).expect("lib.rs");
    let kit = lib
        .find("#[path = \"../testkit/src/kit/mod.rs\"]")
        .expect("src/lib.rs compiles the kit's source for the unit tests");
    assert!(
        lib[..kit].trim_end().ends_with("#[cfg(test)]"),
        "the kit's source is compiled only under #[cfg(test)]"
    );
    assert!(
        gated_modules()
            .iter()
            .any(|g| g == "src/testkit.rs" || g == "src/testkit/"),
        "src/lib.rs's `testkit` module is not behind #[cfg(test)]: {:?}",
        gated_modules()
    );
}

/// The source files of the packaged release build, relative to the crate root.
fn release_sources() -> Option<Vec<String>> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let dep_info = target.join("x86_64-unknown-linux-gnu/release/handler.d");
    if !root().join("dist/app.zip").is_file() || !dep_info.is_file() {
        assert!(
            std::env::var("REQUIRE_PACKAGE").ok().as_deref() != Some("1"),
            "REQUIRE_PACKAGE=1 but {} or dist/app.zip is missing",
            dep_info.display()
        );
        eprintln!("skipping: no release package (run scripts/package.sh first)");
        return None;
    }
    let text = std::fs::read_to_string(&dep_info).expect("dep-info");
    let prefix = format!("{}/", root().display());
    // The first line (`<binary>: <sources>`) is the whole list; later lines repeat each source alone.
    let first = text.lines().next().unwrap_or_default();
    let sources = first.split_whitespace().skip(1);
    Some(
        sources
            .filter_map(|s| s.strip_prefix(&prefix).map(str::to_owned))
            .collect(),
    )
}

#[test]
fn release_handler_compiles_no_test_double() {
    let Some(sources) = release_sources() else {
        return;
    };
    assert!(
        sources.iter().any(|s| s == "src/main.rs")
            && sources.iter().any(|s| s == "src/state/mod.rs"),
        "dep-info does not list the crate's sources: {sources:?}"
    );
    let gated = gated_modules();
    let doubles: Vec<&String> = sources
        .iter()
        .filter(|s| {
            s.starts_with("testkit/")
                || gated
                    .iter()
                    .any(|g| s.starts_with(g.as_str()) && (g.ends_with('/') || *s == g))
        })
        .collect();
    eprintln!(
        "release: {} source files, none of {} gated modules",
        sources.len(),
        gated.len()
    );
    assert!(
        doubles.is_empty(),
        "the release handler compiles test code: {doubles:?}"
    );
}
