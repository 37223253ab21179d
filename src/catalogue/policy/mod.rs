//! The retention policy model (TOML, format in docs/retention.md): classes, ordered rules,
//! classification (in `model`); the tag merge rule (never shorten, never lift a hold), a recording's re-tagging
//! by its joined session, and an audit-log blob's tags. Parsing and loading are in `load`.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::catalogue::recording::LEGAL_HOLD;
use crate::catalogue::recording::{Recording, SessionView};
use crate::catalogue::row_source::RowSource;
use crate::dates::parse_date;
use crate::sources::Sources;
use crate::storage::{Tags, update_tags};

mod load;
pub mod model;

pub use load::load;
pub use model::{Class, DEFAULT_POLICY, HELD_UNTIL, Policy, Retention, Subject, is_tag_safe};

/// Blob index tag holding the retention class.
pub const TAG_CLASS: &str = "retentionClass";
/// Blob index tag holding the retain-until date (`YYYY-MM-DD`, lexicographically comparable).
pub const TAG_UNTIL: &str = "retainUntil";
/// Table of the sweep's tombstones and deletion intents (written by `retention::tombstone`
/// alone), where a recording the policy deleted is read back by the API and the reviews.
pub const DELETIONS_TABLE: &str = "deletions";

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

/// Tags for an audit-log blob of `class` created at `created`, merged into `existing`.
pub fn audit_log_retention(
    policy: &Policy,
    class: &str,
    existing: &Tags,
    created: OffsetDateTime,
) -> (Tags, Retention) {
    merge_tags(existing, &policy.retention(class, created.date()))
}

/// The class the policy gives `r` now, with what its joined session says.
pub fn class_of(policy: &Policy, r: &Recording) -> String {
    let meta: BTreeMap<String, String> = serde_json::from_str(&r.metadata).unwrap_or_default();
    let s = r.session();
    let given = |f: fn(&SessionView) -> &str| s.map(f).filter(|v| !v.is_empty());
    let users = [given(|s| &s.user_name), given(|s| &s.user_email)];
    let subject = Subject {
        container: &r.container,
        blob: &r.blob_name,
        metadata: Some(&meta),
        vm: given(|s| &s.target_vm),
        protocol: given(|s| &s.protocol),
        subscription: given(|s| &s.subscription),
        resource_group: given(|s| &s.resource_group),
        users: users.into_iter().flatten().collect(),
    };
    policy.class_for(&subject).to_owned()
}

/// When [`class_of`] differs from the row's, merges it into the tags ([`merge_tags`]) and takes
/// the effective retention into `r` (an unconfigured source or a gone blob: unchanged).
///
/// # Errors
/// Storage failures.
pub async fn retag(
    policy: &Policy,
    sources: &Sources,
    r: &mut Recording,
) -> Result<(), AzureError> {
    let class = class_of(policy, r);
    if class == r.retention_class {
        return Ok(());
    }
    let created = parse_date(&r.key.pk).unwrap_or(r.blob_created.date());
    let computed = policy.retention(&class, created);
    let Some(source) = sources.of_row(r) else {
        return Ok(());
    };
    let blob = source.blob(r.blob_name.clone());
    let merged = update_tags(&*source.store, &blob, false, |tags| {
        merge_tags(tags, &computed)
    });
    if let Some(effective) = merged.await? {
        r.retention_class = effective.class;
        r.retain_until = effective.until;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
