//! A recording's class by the policy on it and its joined session, and re-tagging on a change.

use std::collections::BTreeMap;

use super::policy::{Policy, Subject, merge_tags};
use crate::azure::AzureError;
use crate::catalogue::recording::{Recording, SessionView};
use crate::dates::parse_date;
use crate::sources::Sources;
use crate::storage::update_tags;

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
    let until = policy.until_for(&class, created);
    let computed = super::policy::Retention { class, until };
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
