//! Lifecycle policy generation and validation.

use serde_json::{Value, json};

use super::*;

#[test]
fn builtin_policy_tiers_by_class_and_never_deletes() {
    let doc = generate(&Policy::builtin());
    validate(&doc).expect("valid");
    let rules = doc["rules"].as_array().expect("rules");
    let names: Vec<&str> = rules.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(
        names,
        ["tierhipaa6y", "tieriso1y", "tierpci1y", "tiersox7y"],
        "no rule for ops-30d, audit-1y or legal-hold"
    );
    let pci = rules
        .iter()
        .find(|r| r["name"] == "tierpci1y")
        .expect("pci");
    assert_eq!(
        pci["definition"]["filters"]["blobIndexMatch"],
        json!([{"name": "retentionClass", "op": "==", "value": "pci-1y"}])
    );
    assert_eq!(
        pci["definition"]["actions"]["baseBlob"],
        json!({"tierToCold": {"daysAfterCreationGreaterThan": 90}})
    );
    assert!(!doc.to_string().contains("\"delete\""));
    assert!(!doc.to_string().contains("legal-hold"));
}

#[test]
fn limits_and_guard_rails_are_enforced() {
    let rule = |name: &str, conds: usize, actions: Value| {
        json!({"enabled": true, "name": name, "type": "Lifecycle", "definition": {
            "filters": {"blobTypes": ["blockBlob"], "blobIndexMatch": (0..conds).map(|i| json!({"name": format!("k{i}"), "op": "==", "value": "v"})).collect::<Vec<_>>()},
            "actions": {"baseBlob": actions}}})
    };
    let cool = json!({"tierToCool": {"daysAfterCreationGreaterThan": 30}});
    let too_many: Vec<Value> = (0..101)
        .map(|i| rule(&format!("r{i}"), 1, cool.clone()))
        .collect();
    assert!(
        validate(&json!({"rules": too_many}))
            .expect_err("101")
            .iter()
            .any(|e| e.contains("at most 100"))
    );
    let hundred: Vec<Value> = (0..100)
        .map(|i| rule(&format!("r{i}"), 10, cool.clone()))
        .collect();
    validate(&json!({"rules": hundred})).expect("100 rules with 10 conditions is the limit");
    for (doc, needle) in [
        (
            json!({"rules": [rule("a", 11, cool.clone())]}),
            "tag conditions",
        ),
        (
            json!({"rules": [rule("a", 1, json!({"delete": {"daysAfterCreationGreaterThan": 1}}))]}),
            "delete",
        ),
        (
            json!({"rules": [rule("a-b", 1, cool.clone())]}),
            "alphanumeric",
        ),
        (
            json!({"rules": [rule("a", 1, cool.clone()), rule("a", 1, cool.clone())]}),
            "unique",
        ),
        (
            json!({"rules": [rule("a", 1, json!({"tierToCool": {"daysAfterCreationGreaterThan": 90}, "tierToCold": {"daysAfterCreationGreaterThan": 30}}))]}),
            "increase",
        ),
        (json!({"rules": []}), "no rules"),
    ] {
        let errs = validate(&doc).expect_err(needle);
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{errs:?} should mention {needle}"
        );
    }
    let mut bad_op = rule("a", 1, cool);
    bad_op["definition"]["filters"]["blobIndexMatch"][0]["op"] = json!(">");
    assert!(validate(&json!({"rules": [bad_op]})).is_err());
}

#[test]
fn custom_classes_generate_rules_and_render_validates() {
    let p = Policy::parse("default = \"x\"\n[classes.x]\ndays = 10\ncool_after = 1\narchive_after = 5\n[classes.\"x.y\"]\ndays = 1\ncool_after = 1").expect("policy");
    let text = render(&p).expect("valid");
    assert!(text.ends_with("}\n"));
    assert!(text.contains("tierToArchive"));
    let clash = Policy::parse("default = \"a-1\"\n[classes.a-1]\ndays = 1\ncool_after = 1\n[classes.a1]\ndays = 1\ncool_after = 1").expect("policy");
    assert!(
        render(&clash)
            .expect_err("clash")
            .iter()
            .any(|e| e.contains("unique"))
    );
}

#[test]
fn infra_file_equals_the_generated_builtin_policy() {
    let path = format!("{}/infra/lifecycle-policy.json", env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{path}: {e} (regenerate: cargo run -- lifecycle-policy > infra/lifecycle-policy.json)"
        )
    });
    assert_eq!(
        file,
        render(&Policy::builtin()).expect("valid"),
        "regenerate: cargo run -- lifecycle-policy > infra/lifecycle-policy.json"
    );
}
