//! The reader against a fixture of every shape it must understand.

use super::text::{balanced_parens, replace_ident, strip_comments};
use super::*;

#[test]
fn reads_custom_looped_conditional_and_foreign_assignments() {
    let table = RoleTable::load();
    let text = String::from_utf8(crate::harness::fixture_bytes(
        "azure/role-assignments.bicep",
    ))
    .expect("utf-8");
    let g = grants("m.bicep", &text, &table).expect("grants");
    let got: Vec<_> = g
        .iter()
        .map(|g| (g.role.as_str(), g.custom, &g.scope, g.condition.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("R (${resourceGroup().name})", true, &Scope::Container, None),
            ("Storage Blob Data Owner", false, &Scope::Account, None),
            (
                "Storage Blob Delegator",
                false,
                &Scope::Account,
                Some("grantDelegator")
            ),
            ("R (${resourceGroup().name})", true, &Scope::Container, None),
            (
                "Storage Blob Delegator",
                false,
                &Scope::Account,
                Some("grantDelegator")
            ),
        ]
    );
    assert_eq!(g[0].patterns, ["a/read", "a/write"]);
    assert_eq!(g[3].patterns, g[0].patterns);
    let unknown = text.replace(
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "00000000-1111-2222-3333-444444444444",
    );
    let err = grants("m.bicep", &unknown, &table).unwrap_err();
    assert!(
        err.contains("a2") && err.contains("not in the built-in role table"),
        "{err}"
    );
    let foreign = text.replace("scope: ai", "scope: account");
    let err = grants("m.bicep", &foreign, &table).unwrap_err();
    assert!(
        err.contains("Monitoring Metrics Publisher assigned on a storage scope"),
        "{err}"
    );
}

// A per-source assignment must land on its own source: another loop's element, a fixed element or
// the whole collection is refused.
#[test]
fn looped_assignments_must_take_their_own_sources_scope() {
    let table = RoleTable::load();
    let text = String::from_utf8(crate::harness::fixture_bytes(
        "azure/role-assignments.bicep",
    ))
    .expect("utf-8");
    for (from, to) in [
        ("    scope: cs[i]\n", "    scope: cs[0]\n"),
        ("    scope: cs[i]\n", "    scope: cs\n"),
        ("    scope: accts[i]\n", "    scope: cs[i]\n"),
        (
            "  for (s, i) in mine: {\n    name: guid(cs[i]",
            "  for (s, i) in others: {\n    name: guid(cs[i]",
        ),
    ] {
        assert!(text.contains(from), "fixture lacks {from:?}");
        let err = grants("m.bicep", &text.replacen(from, to, 1), &table).unwrap_err();
        assert!(
            err.contains("is not the element of the assignment's own loop"),
            "{from:?} -> {to:?}: {err}"
        );
    }
}

#[test]
fn comments_and_urls_are_told_apart() {
    assert_eq!(strip_comments("a: 'https://x' // note"), "a: 'https://x' ");
    assert_eq!(balanced_parens("(a && (b)) {"), "a && (b)");
    assert_eq!(
        replace_ident("f('roles/r', r)", "r", "x.y"),
        "f('roles/r', x.y)"
    );
}
