//! Pure text helpers of the policy model: wildcard matching, tag-value validation, and the tag merge rule (never shorten, never lift a hold).

use super::Retention;
use crate::retention::{LEGAL_HOLD, TAG_CLASS, TAG_UNTIL};
use crate::storage::Tags;

/// Case-insensitive match with `*` wildcards.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == t;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !t.starts_with(first) || t.len() < first.len() + last.len() || !t.ends_with(last) {
        return false;
    }
    let mut rest = &t[first.len()..t.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// True when `v` only uses characters allowed in blob index tags.
pub fn is_tag_safe(v: &str) -> bool {
    v.len() <= 256
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || " +-.:=_/".contains(c))
}

/// Merges `computed` into a blob's tags (others kept; a hold never lifted, a later date never
/// shortened); returns the new set and the effective retention.
pub fn merge_tags(existing: &Tags, computed: &Retention) -> (Tags, Retention) {
    let old_class = existing.get(TAG_CLASS);
    let old_until = existing.get(TAG_UNTIL);
    let effective = match (old_class, old_until) {
        (Some(c), Some(u)) if c == LEGAL_HOLD || u.as_str() > computed.until.as_str() => {
            Retention {
                class: c.clone(),
                until: u.clone(),
            }
        }
        _ => computed.clone(),
    };
    let mut tags = existing.clone();
    tags.insert(TAG_CLASS.to_owned(), effective.class.clone());
    tags.insert(TAG_UNTIL.to_owned(), effective.until.clone());
    (tags, effective)
}
