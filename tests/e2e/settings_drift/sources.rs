//! The connections named only inside `RECORDINGS_SOURCES` / `AUDITLOGS_SOURCES`.
//!
//! Locally the lists are literal values: every connection they name must be configured, and is then
//! no unknown setting. In Bicep they are expressions over the source arrays: each entry names
//! `RECORDINGS_STORAGE`, `AUDITLOGS_STORAGE` (both in the settings block, identity-based: plain
//! connection names, read only because the lists name them) or
//! `SOURCE_<ACCOUNT>`, whose identity settings `sourceConnections` generates outside the block; this
//! module holds that shape.

use super::{IDENTITY_SUFFIXES, drift, parse_bicep_pairs, read};

/// The settings holding source lists.
const LISTS: [&str; 2] = ["RECORDINGS_SOURCES", "AUDITLOGS_SOURCES"];

/// The connection names the literal source lists among `values` name.
pub(super) fn named_connections(values: &[(String, String)]) -> Vec<String> {
    values
        .iter()
        .filter(|(k, _)| LISTS.contains(&k.as_str()))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let head = e.split('@').next().unwrap_or(e);
            head.split(':').next().unwrap_or(head).trim().to_owned()
        })
        .collect()
}

/// The fixed connections the Bicep's source entries name (`RECORDINGS_STORAGE`, `AUDITLOGS_STORAGE`);
/// the generated `SOURCE_<ACCOUNT>` ones are outside the settings block.
pub(super) fn bicep_connections(text: &str) -> Vec<String> {
    let mut names: Vec<String> = ["recordingEntries", "auditLogEntries"]
        .iter()
        .flat_map(|var| var_list(text, var).split('\''))
        .filter(|s| s.ends_with("_STORAGE"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The balanced `[...]` after `var <name> = ` in `text`.
fn var_list<'a>(text: &'a str, name: &str) -> &'a str {
    let decl = format!("var {name} = [");
    let start = text
        .find(&decl)
        .unwrap_or_else(|| panic!("functionapp.bicep: no `{decl}`"))
        + decl.len()
        - 1;
    let mut depth = 0;
    for (i, c) in text[start..].char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return &text[start..=start + i];
                }
            }
            _ => {}
        }
    }
    panic!("functionapp.bicep: `{decl}` is not closed")
}

#[test]
fn bicep_source_lists_name_only_identity_connections() {
    let text = read("infra/modules/functionapp.bicep");
    let pairs = parse_bicep_pairs(&text).expect("parse");
    let block: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    for list in LISTS {
        assert!(
            block.contains(&list),
            "{list} missing from the settings block"
        );
    }
    // Every fixed connection an entry may name is identity-based in the block.
    for var in ["recordingEntries", "auditLogEntries"] {
        let entries = var_list(&text, var);
        let fixed: Vec<&str> = entries
            .split('\'')
            .filter(|s| s.ends_with("_STORAGE"))
            .collect();
        assert!(!fixed.is_empty(), "{var}: names no connection");
        for conn in fixed {
            for suffix in ["accountName", "credential"] {
                let key = format!("{conn}__{suffix}");
                assert!(
                    block.contains(&key.as_str()),
                    "{var} names {conn}: {key} missing"
                );
            }
        }
        assert!(
            entries.contains("'SOURCE_${toUpper(s.accountName)}'"),
            "{var}: other accounts' connections must be SOURCE_<ACCOUNT>"
        );
    }
    // SOURCE_<ACCOUNT> connections: generated with the account name and the managed identity, and
    // appended to the app settings.
    let generated = var_list(&text, "sourceConnectionPairs");
    let suffixes: Vec<&str> = generated
        .split("'SOURCE_${toUpper(a)}__")
        .skip(1)
        .filter_map(|s| s.split('\'').next())
        .collect();
    assert_eq!(suffixes, ["accountName", "credential"], "{generated}");
    assert!(suffixes.iter().all(|s| IDENTITY_SUFFIXES.contains(s)));
    assert!(
        generated.contains("value: 'managedidentity'"),
        "{generated}"
    );
    assert!(text.contains("var sourceConnections = flatten(sourceConnectionPairs)"));
    assert!(
        text.contains("var appSettings = concat(settingList, sourceConnections, functionSwitches)")
    );
    assert!(text.contains("appSettings: appSettings"));
}

// The checker accepts a connection only the lists name, and reports one they name but nobody sets.
#[test]
fn drift_accepts_connections_named_in_the_lists() {
    let values: Vec<(String, String)> = [
        (
            "RECORDINGS_SOURCES",
            "WEU_REC:recordings@bas-hub-weu, NEU_REC:bastion-neu",
        ),
        ("AUDITLOGS_SOURCES", "WEU_LOG"),
        ("WEU_REC__accountName", "stweu"),
        ("WEU_REC__credential", "managedidentity"),
        ("WEU_LOG", "UseDevelopmentStorage=true"),
        ("STRAY__accountName", "stray"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let named = named_connections(&values);
    assert_eq!(named, ["WEU_REC", "NEU_REC", "WEU_LOG"]);
    let keys: Vec<String> = values.into_iter().map(|(k, _)| k).collect();
    let found = drift(&keys, &named, &[], &[]).join("\n");
    for needle in [
        "NEU_REC: named in a source list but not configured",
        "STRAY: configured but never read",
    ] {
        assert!(found.contains(needle), "missing `{needle}` in:\n{found}");
    }
    for accepted in ["WEU_REC:", "WEU_LOG:"] {
        assert!(
            !found.contains(accepted),
            "{accepted} reported in:\n{found}"
        );
    }
}
