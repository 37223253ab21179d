//! Tests for the policy model: parsing, validation, rule order, dates, and the merge rule.

use time::macros::datetime;

use super::model::glob;
use super::*;
use crate::storage::Tags;

#[test]
fn builtin_policy_parses_with_all_classes() {
    let p = Policy::parse(DEFAULT_POLICY).expect("valid");
    for c in [
        "ops-30d",
        "pci-1y",
        "iso-1y",
        "hipaa-6y",
        "sox-7y",
        "audit-1y",
        "legal-hold",
    ] {
        assert!(p.classes.contains_key(c), "{c}");
    }
    assert_eq!(Policy::builtin(), p);
}

#[test]
fn rules_match_in_order_on_every_field() {
    let p = Policy::parse(
        r#"
default = "ops-30d"
[classes.ops-30d]
days = 30
[classes.pci-1y]
days = 365
[classes.sox-7y]
days = 2557
[[rules]]
class = "sox-7y"
vm = "vm-fin-*"
protocol = "rdp"
[[rules]]
class = "pci-1y"
blob_prefix = "pci/"
[[rules]]
class = "pci-1y"
metadata = { Environment = "PCI*" }
[[rules]]
class = "sox-7y"
user = "*@finance.example.com"
"#,
    )
    .expect("valid");
    let meta = BTreeMap::from([("environment".to_owned(), "pci-prod".to_owned())]);
    let base = Subject {
        container: "recordings",
        blob: "x",
        ..Default::default()
    };
    assert_eq!(p.class_for(&base), "ops-30d");
    assert_eq!(
        p.class_for(&Subject {
            blob: "pci/x",
            ..base.clone()
        }),
        "pci-1y"
    );
    assert_eq!(
        p.class_for(&Subject {
            metadata: Some(&meta),
            ..base.clone()
        }),
        "pci-1y"
    );
    let s = Subject {
        vm: Some("VM-FIN-01"),
        protocol: Some("RDP"),
        blob: "pci/x",
        ..base.clone()
    };
    assert_eq!(p.class_for(&s), "sox-7y", "first match wins");
    let s = Subject {
        vm: Some("vm-fin-01"),
        protocol: Some("ssh"),
        ..base.clone()
    };
    assert_eq!(p.class_for(&s), "ops-30d");
    let s = Subject {
        users: vec!["alice", "alice@finance.example.com"],
        ..base
    };
    assert_eq!(p.class_for(&s), "sox-7y");
}

#[test]
fn invalid_policies_are_rejected_with_a_reason() {
    for (text, needle) in [
        ("default = \"x\"\n[classes.y]\ndays = 1", "default class"),
        ("default = \"y\"\n[classes.y]\n", "needs `days`"),
        (
            "default = \"y\"\n[classes.y]\ndays = 1\n[[rules]]\nclass = \"z\"",
            "undefined class",
        ),
        (
            "default = \"y\"\n[classes.y]\ndays = 1\n[[rules]]\nclass = \"y\"\nvmm = \"a\"",
            "unknown field",
        ),
        (
            "default = \"b@d\"\n[classes.\"b@d\"]\ndays = 1",
            "tag value",
        ),
        ("not toml", "retention policy"),
    ] {
        let err = Policy::parse(text).expect_err(text);
        assert!(err.contains(needle), "{err} should mention {needle}");
    }
}

#[test]
fn retain_until_counts_days_from_creation_and_holds_never_expire() {
    let p = Policy::builtin();
    let created = datetime!(2025-03-14 23:59:59 UTC);
    assert_eq!(p.until_for("ops-30d", created.date()), "2025-04-13");
    assert_eq!(p.until_for("pci-1y", created.date()), "2026-03-14");
    assert_eq!(p.until_for("legal-hold", created.date()), HELD_UNTIL);
    let r = p.classify(
        &Subject {
            container: "recordings",
            blob: "b",
            ..Default::default()
        },
        created,
    );
    assert_eq!(
        r,
        Retention {
            class: "ops-30d".into(),
            until: "2025-04-13".into()
        }
    );
}

#[test]
fn merge_keeps_other_tags_holds_and_later_dates() {
    let computed = Retention {
        class: "ops-30d".into(),
        until: "2025-04-13".into(),
    };
    let other = Tags::from([("owner".to_owned(), "secops".to_owned())]);
    let (tags, eff) = merge_tags(&other, &computed);
    assert_eq!(eff, computed);
    assert_eq!(tags.get("owner").map(String::as_str), Some("secops"));
    assert_eq!(tags.get(TAG_UNTIL).map(String::as_str), Some("2025-04-13"));

    let longer = Tags::from([
        (TAG_CLASS.to_owned(), "pci-1y".to_owned()),
        (TAG_UNTIL.to_owned(), "2026-03-14".to_owned()),
    ]);
    assert_eq!(
        merge_tags(&longer, &computed).1.until,
        "2026-03-14",
        "never shortened"
    );
    let held = Tags::from([
        (TAG_CLASS.to_owned(), LEGAL_HOLD.to_owned()),
        (TAG_UNTIL.to_owned(), HELD_UNTIL.to_owned()),
    ]);
    assert_eq!(
        merge_tags(&held, &computed).1.class,
        LEGAL_HOLD,
        "hold never lifted"
    );
    let shorter = Tags::from([
        (TAG_CLASS.to_owned(), "x".to_owned()),
        (TAG_UNTIL.to_owned(), "2025-01-01".to_owned()),
    ]);
    assert_eq!(merge_tags(&shorter, &computed).1, computed, "lengthened");
}

#[test]
fn glob_matches_case_insensitively() {
    assert!(glob("vm-*", "VM-APP-01"));
    assert!(glob("*@x.com", "a@X.com"));
    assert!(glob("a*b*c", "aXXbYYc"));
    assert!(!glob("a*b*c", "acb"));
    assert!(!glob("abc", "abcd"));
    assert!(glob("*", ""));
}

#[test]
fn shipped_example_policy_is_valid() {
    let text = include_str!("../../../examples/retention-policy.toml");
    let p = Policy::parse(text).expect("examples/retention-policy.toml parses");
    let meta = BTreeMap::from([("environment".to_owned(), "PCI-prod".to_owned())]);
    let s = Subject {
        container: "recordings",
        blob: "x",
        metadata: Some(&meta),
        ..Default::default()
    };
    assert_eq!(p.class_for(&s), "pci-1y");
    assert!(
        p.classes.contains_key("audit-1y"),
        "the audit-log class must exist for start-up"
    );
}
