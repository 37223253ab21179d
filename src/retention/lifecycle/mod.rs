//! The lifecycle-management policy of the retention classes (`handler lifecycle-policy`,
//! `infra/lifecycle-policy.json`): one tiering rule per class on block blobs, never a `delete`
//! (lifecycle cannot see `retainUntil` or holds). [`validate`] checks the documented limits.

#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use crate::catalogue::policy::{Class, Policy, TAG_CLASS, is_tag_safe};

/// Service limit: rules per policy.
pub const MAX_RULES: usize = 100;
/// Service limit: `blobIndexMatch` conditions per rule.
pub const MAX_TAG_CONDITIONS: usize = 10;

/// The policy document (the `policy` property of `Microsoft.Storage/storageAccounts/managementPolicies`).
pub fn generate(policy: &Policy) -> Value {
    let rules: Vec<Value> = policy
        .classes
        .iter()
        .filter(|(_, c)| !c.hold)
        .filter_map(|(name, c)| rule(name, c))
        .collect();
    json!({ "rules": rules })
}

fn rule(class: &str, c: &Class) -> Option<Value> {
    let mut base = serde_json::Map::new();
    for (action, days) in [
        ("tierToCool", c.cool_after),
        ("tierToCold", c.cold_after),
        ("tierToArchive", c.archive_after),
    ] {
        if let Some(d) = days {
            base.insert(
                action.to_owned(),
                json!({ "daysAfterCreationGreaterThan": d }),
            );
        }
    }
    if base.is_empty() {
        return None;
    }
    let name: String = ("tier".chars())
        .chain(class.chars().filter(char::is_ascii_alphanumeric))
        .collect();
    Some(json!({
        "enabled": true,
        "name": name,
        "type": "Lifecycle",
        "definition": {
            "filters": {
                "blobTypes": ["blockBlob"],
                "blobIndexMatch": [{ "name": TAG_CLASS, "op": "==", "value": class }]
            },
            "actions": { "baseBlob": base }
        }
    }))
}

/// Checks a policy document against the documented limits and this product's guard rails.
///
/// # Errors
/// Every problem found.
pub fn validate(doc: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let rules = doc
        .get("rules")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if rules.is_empty() {
        errors.push(
            "no rules: no class defines tiering (cool_after, cold_after, archive_after)".to_owned(),
        );
    }
    if rules.len() > MAX_RULES {
        errors.push(format!(
            "{} rules; the service allows at most {MAX_RULES}",
            rules.len()
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for r in rules {
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() || name.len() > 256 || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            errors.push(format!("rule name {name:?}: 1-256 alphanumeric characters"));
        }
        if !names.insert(name.to_owned()) {
            errors.push(format!("rule name {name:?} is not unique"));
        }
        check_rule(name, r, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_rule(name: &str, r: &Value, errors: &mut Vec<String>) {
    let filters = &r["definition"]["filters"];
    if filters["blobTypes"].as_array().is_none_or(Vec::is_empty) {
        errors.push(format!("{name}: blobTypes is required"));
    }
    let conds = filters["blobIndexMatch"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if conds.len() > MAX_TAG_CONDITIONS {
        errors.push(format!(
            "{name}: {} tag conditions; at most {MAX_TAG_CONDITIONS}",
            conds.len()
        ));
    }
    for c in conds {
        let (k, op, v) = (
            c["name"].as_str().unwrap_or_default(),
            c["op"].as_str(),
            c["value"].as_str().unwrap_or_default(),
        );
        if op != Some("==") {
            errors.push(format!("{name}: blobIndexMatch supports only =="));
        }
        if k.is_empty() || k.len() > 128 || !is_tag_safe(k) || !is_tag_safe(v) {
            errors.push(format!("{name}: invalid tag condition {k:?} = {v:?}"));
        }
    }
    let actions = &r["definition"]["actions"];
    for scope in ["baseBlob", "snapshot", "version"] {
        if actions[scope].get("delete").is_some() {
            errors.push(format!("{name}: a delete action could remove a held blob; deletion belongs to RetentionSweep"));
        }
    }
    let days = |a: &str| actions["baseBlob"][a]["daysAfterCreationGreaterThan"].as_u64();
    let tiers: Vec<u64> = ["tierToCool", "tierToCold", "tierToArchive"]
        .iter()
        .filter_map(|a| days(a))
        .collect();
    if tiers.windows(2).any(|w| w[0] >= w[1]) {
        errors.push(format!(
            "{name}: tier days must increase Cool < Cold < Archive"
        ));
    }
}

/// The generated, validated document as pretty JSON with a trailing newline (the CLI's output).
///
/// # Errors
/// The validation problems.
pub fn render(policy: &Policy) -> Result<String, Vec<String>> {
    let doc = generate(policy);
    validate(&doc)?;
    serde_json::to_string_pretty(&doc)
        .map(|s| s + "\n")
        .map_err(|e| vec![e.to_string()])
}
