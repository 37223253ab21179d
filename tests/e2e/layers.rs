//! The layers, checked from the source: a module may name (`crate::<module>`) only modules of its
//! own layer or below, the modules of one layer never name each other in a circle, and only the
//! app names the functions. Read as text, outside comments and test code (`#[cfg(test)] mod tests`
//! blocks, `tests` folders, `*tests.rs`): an import, a path in code or
//! a fully qualified call all count, so a shortcut cannot hide in a `use` written elsewhere.
//!
//! Layers, lowest first (the request flows the other way: the host's envelope is decoded by the
//! protocol, handed to an entry point, which calls the domain, which reads the data through the
//! ports): plumbing (time, settings reader, telemetry, `Retry-After`, JSON shapes), ports, protocol (host envelopes and Event Grid events: vocabulary every
//! layer above uses, knowing nothing of the domain), data (the catalogue tables and keys, the
//! watched sources), domain, state (configuration and the shared seams), entry points (functions,
//! the HTTP API, the CLI, backfill), app (the router).
//!
//! The test kit (`testkit/src/kit/`, the crate `bastion-testkit`, compiled into the unit tests as
//! `crate::testkit`) builds the state and the ports' doubles: it names the product
//! (`bastion_recordings::<module>`) no higher than the state layer, so it serves the entry points'
//! tests without naming them ([`the_kit_names_nothing_above_the_state_layer`]).
//!
//! One pipeline makes notifications: no file outside `src/spine/` builds a `Notification` or
//! calls the spine's `alert`, only the entry points hand findings to `spine::send`/`messages`, and
//! no domain names the invocation's `Outcome` ([`no_file_outside_the_spine_makes_a_notification`]).
//!
//! Inside a folder the arrows point down too: in every folder of `src/`, a child module never uses a
//! definition of a module above it (`super::Item`, `super::super::Item`, `crate::api::Item` from
//! `api/…`, a re-export of the parent included); it names its siblings, and the parent names it.
//! What children share stands in a sibling named for what it holds. No folder is exempt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules by layer, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "plumbing",
        &[
            "clock",
            "csv_text",
            "dates",
            "json_shape",
            "names",
            "setting",
            "azure",
            "telemetry",
        ],
    ),
    (
        "ports",
        &[
            "storage",
            "tables",
            "queues",
            "permissions",
            "loganalytics",
            "arm",
            "graph",
            "ingestion",
        ],
    ),
    ("protocol", &["invocation", "events"]),
    (
        "data",
        &[
            "catalogue",
            "sources",
            "activity",
            "export",
            "spine",
            "ports",
            "pack",
        ],
    ),
    (
        "domain",
        &[
            "notify",
            "fanout",
            "retention",
            "integrity",
            "join",
            "audit_logs",
            "custody",
            "recordings",
            "health",
            "estate",
            "authorization",
            "reviews",
            "evidence",
            "sentinel",
        ],
    ),
    ("state", &["config", "state"]),
    ("entry points", &["functions", "api", "cli", "backfill"]),
    ("app", &["app"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

fn layer_name(i: Option<usize>) -> &'static str {
    i.and_then(|i| LAYERS.get(i)).map_or("no layer", |(n, _)| n)
}

/// The code of a source file without comments and without its inline test module.
pub(crate) fn code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_test_code(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    path.is_dir() && name.as_deref().is_some_and(|n| n == "tests")
        || name.is_some_and(|n| n.ends_with("tests.rs"))
}

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if is_test_code(&path) {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Which top-level modules each file names: `(file, its module, named module)`.
fn names(src: &Path) -> Vec<(String, String, String)> {
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
        let text = code(&std::fs::read_to_string(&file).expect("read"));
        for (i, _) in text.match_indices("crate::") {
            let named: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::testkit`: the test kit's source, compiled into the unit tests only
            // (`tests/e2e/release.rs`), checked on its own (`kit_upward`).
            if named != top && named != "testkit" {
                found.push((format!("src/{}", rel.display()), top.clone(), named));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The module path of a file under `src`: `api/auth/mod.rs` is `api::auth`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut path: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if path.last().is_some_and(|n| n == "mod") {
        path.pop();
    }
    path
}

/// The child modules of module `path`: its folder's files and folders.
fn child_modules(src: &Path, path: &[String]) -> BTreeSet<String> {
    let dir = path.iter().fold(src.to_path_buf(), |d, p| d.join(p));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?.path();
            let name = e.file_name()?.to_string_lossy().into_owned();
            match name.strip_suffix(".rs") {
                Some("mod") => None,
                Some(stem) => Some(stem.to_owned()),
                None => e.is_dir().then_some(name),
            }
        })
        .collect()
}

/// The first name of the path that starts `text`, or of each path of a `{…}` group.
fn heads(text: &str) -> Vec<String> {
    let name = |t: &str| -> String {
        t.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '*')
            .collect()
    };
    let Some(group) = text.strip_prefix('{') else {
        return vec![name(text)];
    };
    let (mut depth, mut start, mut out) = (0usize, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(name(&group[start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(name(&group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.retain(|n| !n.is_empty());
    out
}

/// `file uses module::Item` for every use, in any folder, of a definition of a module above the
/// file's own, unless that module's folder is one of `allowed`.
fn child_to_parent(src: &Path, allowed: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let own = module_path(rel);
        if own.len() < 2 {
            continue;
        }
        let text = code(&std::fs::read_to_string(&file).expect("read"));
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        // Each path that starts at a module above this one: (that module, the text after it).
        let mut above: Vec<(Vec<String>, &str)> = Vec::new();
        for (i, _) in text.match_indices("super::") {
            if text[..i].ends_with(|c: char| ident(c) || c == ':') {
                continue;
            }
            let mut rest = &text[i..];
            let mut up = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                (rest, up) = (r, up + 1);
            }
            if up < own.len() {
                above.push((own[..own.len() - up].to_vec(), rest));
            }
        }
        for (i, _) in text.match_indices("crate::") {
            let mut rest = &text[i + 7..];
            let mut path: Vec<String> = Vec::new();
            while let Some((seg, r)) = rest.split_once("::") {
                let is_module = !seg.is_empty()
                    && seg.chars().all(ident)
                    && (path.is_empty() || child_modules(src, &path).contains(seg));
                if !is_module || path.len() + 1 >= own.len() || own[path.len()] != seg {
                    break;
                }
                path.push(seg.to_owned());
                rest = r;
            }
            if !path.is_empty() {
                above.push((path, rest));
            }
        }
        let children = |m: &[String]| child_modules(src, m);
        for (module, rest) in above {
            if allowed.contains(&module.join("/").as_str()) {
                continue;
            }
            let known = children(&module);
            for item in heads(rest)
                .into_iter()
                .filter(|h| h != "self" && !known.contains(h))
            {
                out.push(format!(
                    "src/{} uses {}::{item}",
                    rel.display(),
                    module.join("::")
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Files that name a module of a higher layer, or of no layer.
fn upward(src: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (file, own, named) in names(src) {
        let (mine, theirs) = (layer_of(&own), layer_of(&named));
        if mine.is_none() || theirs.is_none() || theirs > mine {
            out.push(format!(
                "{file} ({}) names crate::{named} ({})",
                layer_name(mine),
                layer_name(theirs)
            ));
        }
    }
    out
}

/// Circles between modules of one layer, each as `a -> b -> … -> a`.
fn circles(src: &Path) -> Vec<String> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, own, named) in names(src) {
        if layer_of(&own).is_some() && layer_of(&own) == layer_of(&named) {
            edges.entry(own).or_default().insert(named);
        }
    }
    let mut out = BTreeSet::new();
    for start in edges.keys() {
        // Depth-first from `start`, reporting a path that comes back to it.
        let mut stack = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().expect("non-empty");
            for next in edges.get(last).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    let min = cycle.iter().min().expect("non-empty").clone();
                    let at = cycle.iter().position(|m| *m == min).unwrap_or(0);
                    cycle.rotate_left(at);
                    cycle.push(min);
                    out.insert(cycle.join(" -> "));
                } else if !path.contains(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Files of the test kit (`kit`: `testkit/src/kit/`) that name a product module
/// (`bastion_recordings::<module>`) above the state layer, or of no layer.
fn kit_upward(kit: &Path) -> Vec<String> {
    let state = layer_of("state");
    let mut files = Vec::new();
    rust_files(kit, &mut files);
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(kit).expect("under the kit");
        let text = code(&std::fs::read_to_string(&file).expect("read"));
        const PRODUCT: &str = "bastion_recordings::";
        for (i, _) in text.match_indices(PRODUCT) {
            for named in heads(&text[i + PRODUCT.len()..]) {
                let theirs = layer_of(&named);
                if theirs.is_none() || theirs > state {
                    out.push(format!(
                        "testkit/src/kit/{} names bastion_recordings::{named} ({})",
                        rel.display(),
                        layer_name(theirs)
                    ));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Files other than the app that name `crate::functions`: an entry point's logic that another
/// needs (backfill, the CLI) belongs to the domain below both.
fn into_functions(src: &Path) -> Vec<String> {
    names(src)
        .into_iter()
        .filter(|(_, own, named)| named == "functions" && own != "app")
        .map(|(file, _, _)| format!("{file} names crate::functions"))
        .collect()
}

#[test]
fn only_the_app_names_the_functions() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = into_functions(&src);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = upward(&src);
    assert!(
        found.is_empty(),
        "imports against the layers:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn a_child_never_uses_its_parents_definitions() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = child_to_parent(&src, &[]);
    assert!(
        found.is_empty(),
        "uses of a parent's definitions:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_check_sees_a_child_using_its_parent() {
    let dir = std::env::temp_dir().join(crate::harness::unique("parents-"));
    for folder in ["api/holds", "catalogue/session", "estate"] {
        std::fs::create_dir_all(dir.join(folder)).expect("mkdir");
    }
    let files = [
        (
            "api/mod.rs",
            "mod context;\nmod holds;\nmod listing;\nstruct Api;\nuse self::holds::post;\n",
        ),
        ("api/context.rs", "pub(super) struct Api;\n"),
        (
            "api/listing.rs",
            "use super::context::Api;\nuse super::{Api, holds::post};\n// super::Api\n",
        ),
        (
            "api/holds/mod.rs",
            "mod list;\nuse super::Api;\npub(in crate::api) fn post() { crate::api::listing::f(); }\n",
        ),
        (
            "api/holds/list.rs",
            "use super::super::context::Api;\nfn f() { crate::api::holds::post(); crate::api::Api::new(); }\n",
        ),
        (
            "catalogue/mod.rs",
            "pub mod session;\npub mod key;\npub const TABLE: &str = \"t\";\n",
        ),
        ("catalogue/key.rs", "pub struct Key;\n"),
        (
            "catalogue/session/mod.rs",
            "pub mod write;\nuse crate::catalogue::{TABLE, key::Key};\n",
        ),
        (
            "catalogue/session/write.rs",
            "use crate::catalogue::key::Key;\nuse super::super::TABLE;\n",
        ),
        (
            "estate/mod.rs",
            "pub mod store;\npub const CHECKED: &str = \"c\";\n",
        ),
        ("estate/store.rs", "use super::CHECKED;\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let found = child_to_parent(&dir, &["estate"]);
    let everywhere = child_to_parent(&dir, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        [
            "src/api/holds/list.rs uses api::Api",
            "src/api/holds/list.rs uses api::holds::post",
            "src/api/holds/mod.rs uses api::Api",
            "src/api/listing.rs uses api::Api",
            "src/catalogue/session/mod.rs uses catalogue::TABLE",
            "src/catalogue/session/write.rs uses catalogue::TABLE",
        ]
    );
    assert_eq!(
        everywhere.last().map(String::as_str),
        Some("src/estate/store.rs uses estate::CHECKED"),
        "a folder is checked unless it is allowed"
    );
}

#[test]
fn modules_of_one_layer_never_import_each_other_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = circles(&src);
    assert!(found.is_empty(), "circles:\n  {}", found.join("\n  "));
}

#[test]
fn the_kit_names_nothing_above_the_state_layer() {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("testkit/src/kit");
    let mut files = Vec::new();
    rust_files(&kit, &mut files);
    assert!(files.len() > 20, "the kit's source is at {}", kit.display());
    let found = kit_upward(&kit);
    assert!(
        found.is_empty(),
        "the kit names above the state layer:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_kit_check_sees_an_entry_point_named() {
    let dir = std::env::temp_dir().join(crate::harness::unique("kit-layers-"));
    std::fs::create_dir_all(dir.join("storage")).expect("mkdir");
    for (name, text) in [
        (
            "mod.rs",
            "use bastion_recordings::state::AppState;\nuse crate::testkit::storage::memory;\n",
        ),
        (
            "audit.rs",
            "use bastion_recordings::{config::Config, api::router};\n",
        ),
        (
            "storage/memory.rs",
            "fn f() { bastion_recordings::cli::run(); }\n",
        ),
    ] {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let found = kit_upward(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        [
            "testkit/src/kit/audit.rs names bastion_recordings::api (entry points)",
            "testkit/src/kit/storage/memory.rs names bastion_recordings::cli (entry points)",
        ]
    );
}

#[test]
fn the_checks_see_an_upward_import_and_a_circle() {
    let dir = std::env::temp_dir().join(crate::harness::unique("layers-"));
    for d in [
        "storage",
        "notify",
        "recordings/tests",
        "backfill",
        "functions",
    ] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    let files = [
        (
            "storage/mod.rs",
            "//! ok: crate::recordings in a comment\nuse crate::telemetry::redact;\nfn f() { crate::recordings::handle(); }\n#[cfg(test)]\nmod tests {\nuse crate::state::AppState;\n}\n",
        ),
        ("notify/mod.rs", "use crate::retention::Policy;\n"),
        ("retention.rs", "use crate::notify::Notification;\n"),
        (
            "storage/admit.rs",
            "#[cfg(test)]\nmod admit_tests {\n    use crate::testkit::fakes;\n}\n",
        ),
        ("recordings/tests/mod.rs", "use crate::app::router;\n"),
        ("recordings/mod.rs", "use crate::state::AppState;\n"),
        ("widgets.rs", "use crate::tables::Entity;\n"),
        ("backfill/mod.rs", "use crate::functions::reconcile;\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let up = upward(&dir);
    let round = circles(&dir);
    let sideways = into_functions(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        up,
        [
            "src/recordings/mod.rs (domain) names crate::state (state)",
            "src/storage/mod.rs (ports) names crate::recordings (domain)",
            "src/widgets.rs (no layer) names crate::tables (ports)",
        ]
    );
    assert_eq!(round, ["notify -> retention -> notify"]);
    assert_eq!(sideways, ["src/backfill/mod.rs names crate::functions"]);
}

/// The one place an HTTP client is built: `Timeouts::http_builder` (connect timeout, redirects
/// never followed, the product's user agent), whose clients run every call through one `Guard`.
const HTTP_FACTORY: &str = "azure/timeouts.rs";

/// The files under `dir` (tests included) that build a reqwest client: `Client::builder`,
/// `ClientBuilder::…`, or `reqwest::Client::new`/`default` (which follow redirects).
fn http_client_builders(dir: &Path, src: &Path, out: &mut Vec<String>) {
    const BUILDS: [&str; 4] = [
        "Client::builder(",
        "ClientBuilder::",
        "reqwest::Client::new(",
        "reqwest::Client::default(",
    ];
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            http_client_builders(&path, src, out);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let code: String = (text.lines())
            .filter(|l| !l.trim_start().starts_with("//"))
            .flat_map(str::split_whitespace)
            .collect();
        if BUILDS.iter().any(|b| code.contains(b)) {
            let rel = path.strip_prefix(src).expect("under src");
            out.push(rel.display().to_string());
        }
    }
}

#[test]
fn http_clients_are_built_by_the_one_factory_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    http_client_builders(&src, &src, &mut found);
    assert_eq!(
        found,
        [HTTP_FACTORY],
        "HTTP clients built outside the one factory"
    );
    // The check sees a client built elsewhere, whatever the line breaks.
    let dir = std::env::temp_dir().join(crate::harness::unique("factory-"));
    std::fs::create_dir_all(dir.join("notify")).expect("mkdir");
    let own = "fn hook() -> reqwest::Client {\n    reqwest::Client::\n        builder().build().unwrap()\n}\n";
    std::fs::write(dir.join("notify/own.rs"), own).expect("write");
    std::fs::write(dir.join("quiet.rs"), "// reqwest::Client::builder()\n").expect("write");
    let mut found = Vec::new();
    http_client_builders(&dir, &dir, &mut found);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(found, ["notify/own.rs"]);
}

/// `text` without comments and without its `#[cfg(test)]` items, wherever they stand (each to
/// the `;` or the brace closing it).
fn product_code(text: &str) -> String {
    let text: String = (text.lines())
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let (mut out, mut rest) = (String::new(), text.as_str());
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let Some(open) = item.find(['{', ';']) else {
            return out;
        };
        let mut end = open + 1;
        if item[open..].starts_with('{') {
            let mut depth = 0;
            for (i, c) in item[open..].char_indices() {
                depth += match c {
                    '{' => 1,
                    '}' => -1,
                    _ => 0,
                };
                if depth == 0 {
                    end = open + i + 1;
                    break;
                }
            }
        }
        rest = &item[end.min(item.len())..];
    }
    out.push_str(rest);
    out
}

/// The one file outside the entry points that asks the spine for a message: the retention retag
/// store keeps the message of a restore (as the pipeline makes it) until a successful run's outputs
/// take it, since a run failing later, or killed, must not lose it; its rows hold that message.
const KEEPS_MESSAGES: &str = "retention/sweep/alerts.rs";

/// The product files under `dir` (test code aside) that make a notification themselves (build a
/// `Notification` or call the spine's `alert`), outside the entry points hand findings to
/// `spine::send`/`spine::messages`, or, in a domain, name the invocation's `Outcome`.
fn notification_makers(dir: &Path, src: &Path, out: &mut Vec<String>) {
    const MAKES: [&str; 5] = [
        "Notification{",
        "Notification::new(",
        "Notification::<",
        "alert(",
        "alerts(",
    ];
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    for path in files {
        let rel = path.strip_prefix(src).expect("under src");
        if rel.starts_with("spine") {
            continue;
        }
        let code = product_code(&std::fs::read_to_string(&path).unwrap_or_default());
        let joined: String = code.split_whitespace().collect();
        // A call of `alert`/`alerts` itself, not of a name ending so.
        let calls = MAKES[3..].iter().any(|m| {
            (joined.match_indices(m))
                .any(|(i, _)| !(joined[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')))
        });
        let top = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy());
        let layer = top.and_then(|t| layer_of(t.trim_end_matches(".rs")));
        let entry = matches!(layer_name(layer), "entry points" | "app");
        let sends = !entry && rel != Path::new(KEEPS_MESSAGES) && sends(&joined);
        let ends = layer_name(layer) == "domain" && names_outcome(&joined);
        if calls || sends || ends || MAKES[..3].iter().any(|m| joined.contains(m)) {
            out.push(rel.display().to_string());
        }
    }
}

/// True when `code` (without whitespace) calls or imports `spine::send`/`spine::messages`.
fn sends(code: &str) -> bool {
    let listed = |group: &str| {
        (group.split(['{', '}', ',']))
            .any(|item| matches!(item, "send" | "messages" | "self::send" | "self::messages"))
    };
    code.contains("spine::send(")
        || code.contains("spine::messages(")
        || code.contains("spine::send;")
        || code.contains("spine::messages;")
        || (code.match_indices("spine::{")).any(|(i, _)| {
            let group = &code[i + 7..];
            listed(&group[..group.find('}').map_or(group.len(), |e| e + 1)])
        })
}

/// True when `code` (without whitespace) names the invocation's `Outcome` (not a domain's own
/// type of that name).
fn names_outcome(code: &str) -> bool {
    (code.match_indices("invocation::")).any(|(i, _)| {
        let rest = &code[i + "invocation::".len()..];
        let path = match rest.strip_prefix('{') {
            Some(group) => &group[..group.find('}').unwrap_or(group.len())],
            None => rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or_default(),
        };
        (path.split([',', ':'])).any(|w| w == "Outcome" || w.starts_with("Outcomeas"))
    })
}

/// One pipeline: a domain returns `Finding`s and `spine::send` alone makes their notifications,
/// called by the entry points, which alone end the invocation.
#[test]
fn no_file_outside_the_spine_makes_a_notification() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    notification_makers(&src, &src, &mut found);
    assert!(
        found.is_empty(),
        "notifications made, sent or ended on outside src/spine/ and the entry points: {found:?}"
    );
    // The check sees a notification built, alerted, sent or ended on elsewhere, and not one in
    // test code.
    let dir = std::env::temp_dir().join(crate::harness::unique("makers-"));
    for d in ["spine", "functions", "recordings"] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    let files = [
        (
            "built.rs",
            "fn f() -> Notification {\n    Notification {\n        kind }\n}\n",
        ),
        (
            "alerted.rs",
            "use crate::spine::alert;\nfn f(x: Finding) { let _ = alert(x); }\n",
        ),
        (
            "newed.rs",
            "fn f() { let _ = crate::spine::Notification::new(\"a\"); }\n",
        ),
        (
            "tested.rs",
            "fn f() {}\n#[cfg(test)]\nmod t {\n    fn g() { let _ = Notification::new(); alert(x); }\n}\nfn h() {}\n",
        ),
        (
            "quiet.rs",
            "// alert(x)\nfn alerting(o: u8) -> Outcome { send(o, [x]) }\n",
        ),
        (
            "spine/mod.rs",
            "fn alert(f: Finding) -> Notification { Notification { kind } }\n",
        ),
        (
            "recordings/sent.rs",
            "fn f(o: O, x: Finding) -> O { crate::spine::send(o, [x]) }\n",
        ),
        (
            "recordings/imported.rs",
            "use crate::spine::{Finding, messages};\nfn f(x: Finding) { let _ = messages([x]); }\n",
        ),
        (
            "recordings/ended.rs",
            "use crate::invocation::{Failure, Outcome};\nfn f() -> Result<u8, Failure> { Ok(1) }\n",
        ),
        (
            "recordings/named.rs",
            "fn f() -> crate::invocation::Outcome { todo() }\n",
        ),
        (
            "recordings/own.rs",
            "use super::activity::Outcome;\nfn f(o: Outcome) -> bool { o == Outcome::Failed }\n#[cfg(test)]\nmod t { use crate::invocation::Outcome; fn g() { crate::spine::send(o, x); } }\n",
        ),
        (
            "functions/entry.rs",
            "use crate::invocation::Outcome;\nfn f(h: H) -> Outcome { crate::spine::send(Outcome::processed(h.line), h.findings) }\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let mut found = Vec::new();
    notification_makers(&dir, &dir, &mut found);
    std::fs::remove_dir_all(&dir).ok();
    found.sort();
    let want = [
        "alerted.rs",
        "built.rs",
        "newed.rs",
        "recordings/ended.rs",
        "recordings/imported.rs",
        "recordings/named.rs",
        "recordings/sent.rs",
    ];
    assert_eq!(found, want);
}
