//! The retention policy model (TOML, format in docs/retention.md): classes, ordered rules,
//! classification; the tag merge rule (never shorten, never lift a hold), a recording's re-tagging
//! by its joined session, and an audit-log blob's tags. Parsing and loading are in `load`.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::catalogue::recording::LEGAL_HOLD;
use crate::catalogue::recording::{Recording, SessionView};
use crate::catalogue::row_source::RowSource;
use crate::dates::{format_date, parse_date};
use crate::sources::Sources;
use crate::storage::{Tags, update_tags};

mod load;

pub use load::load;

/// Blob index tag holding the retention class.
pub const TAG_CLASS: &str = "retentionClass";
/// Blob index tag holding the retain-until date (`YYYY-MM-DD`, lexicographically comparable).
pub const TAG_UNTIL: &str = "retainUntil";
/// `retainUntil` of a held blob: outside every sweep range (Find Blobs by Tags has no `<>`).
pub const HELD_UNTIL: &str = "9999-12-31";
/// Table of the sweep's tombstones and deletion intents (written by `retention::tombstone`
/// alone), where a recording the policy deleted is read back by the API and the reviews.
pub const DELETIONS_TABLE: &str = "deletions";

/// The built-in policy: the compliance classes and tiering of docs/retention.md.
pub const DEFAULT_POLICY: &str = r#"
default = "ops-30d"
[classes]
ops-30d = { days = 30 }
pci-1y = { days = 365, cold_after = 90 }
iso-1y = { days = 365, cool_after = 30, cold_after = 90 }
hipaa-6y = { days = 2192, cold_after = 90, archive_after = 365 }
sox-7y = { days = 2557, cold_after = 90, archive_after = 365 }
audit-1y = { days = 365 }
legal-hold = { hold = true }
"#;

/// One retention class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    /// Days to keep, counted from the blob's creation day.
    pub days: Option<u32>,
    /// A hold: never expires.
    #[serde(default)]
    pub hold: bool,
    /// Lifecycle: move to Cool this many days after creation.
    pub cool_after: Option<u32>,
    /// Lifecycle: move to Cold this many days after creation.
    pub cold_after: Option<u32>,
    /// Lifecycle: move to Archive this many days after creation (not for append blobs or ZRS accounts).
    pub archive_after: Option<u32>,
}

/// Conditions of a rule; all given conditions must hold. Text comparisons ignore case; `*` is a wildcard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Class assigned when the rule matches.
    pub class: String,
    /// Container name.
    pub container: Option<String>,
    /// Blob name prefix (case-sensitive, as blob names are).
    pub blob_prefix: Option<String>,
    /// Metadata key → value pattern.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Subscription id of the target VM.
    pub subscription: Option<String>,
    /// Resource group of the target VM.
    pub resource_group: Option<String>,
    /// VM name pattern.
    pub vm: Option<String>,
    /// Protocol (`ssh`, `rdp`).
    pub protocol: Option<String>,
    /// User name or e-mail pattern.
    pub user: Option<String>,
}

/// A policy: classes, a default class, ordered rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Class when no rule matches.
    pub default: String,
    /// Classes by name.
    pub classes: BTreeMap<String, Class>,
    /// Rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// What a rule can look at. Session fields are `None` until the audit log has been joined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject<'a> {
    /// Container.
    pub container: &'a str,
    /// Blob name.
    pub blob: &'a str,
    /// Blob metadata (keys lower-case).
    pub metadata: Option<&'a BTreeMap<String, String>>,
    /// Subscription id of the target.
    pub subscription: Option<&'a str>,
    /// Resource group of the target.
    pub resource_group: Option<&'a str>,
    /// VM name.
    pub vm: Option<&'a str>,
    /// Protocol.
    pub protocol: Option<&'a str>,
    /// User names and e-mails known for the session.
    pub users: Vec<&'a str>,
}

/// A classification result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Class name.
    pub class: String,
    /// `YYYY-MM-DD`, or [`HELD_UNTIL`] for holds.
    pub until: String,
}

impl Policy {
    /// The class for `subject`: the first matching rule, else the default.
    pub fn class_for(&self, subject: &Subject<'_>) -> &str {
        self.rules
            .iter()
            .find(|r| r.matches(subject))
            .map_or(&self.default, |r| &r.class)
    }

    /// Classifies a blob created on `created`.
    pub fn classify(&self, subject: &Subject<'_>, created: OffsetDateTime) -> Retention {
        self.retention(self.class_for(subject), created.date())
    }

    /// `class` with its retainUntil date for a blob created on `created`.
    pub fn retention(&self, class: &str, created: Date) -> Retention {
        Retention {
            class: class.to_owned(),
            until: self.until_for(class, created),
        }
    }

    /// The retainUntil date of `class` for a blob created on `created`.
    pub fn until_for(&self, class: &str, created: Date) -> String {
        match self.classes.get(class) {
            Some(Class {
                hold: false,
                days: Some(d),
                ..
            }) => format_date(created.saturating_add(Duration::days(i64::from(*d)))),
            _ => HELD_UNTIL.to_owned(),
        }
    }
}

impl Rule {
    fn matches(&self, s: &Subject<'_>) -> bool {
        let text = |want: &Option<String>, have: Option<&str>| {
            want.as_ref()
                .is_none_or(|w| have.is_some_and(|h| glob(w, h)))
        };
        text(&self.container, Some(s.container))
            && self
                .blob_prefix
                .as_ref()
                .is_none_or(|p| s.blob.starts_with(p.as_str()))
            && self.metadata.iter().all(|(k, v)| {
                s.metadata
                    .and_then(|m| m.iter().find(|(mk, _)| mk.eq_ignore_ascii_case(k)))
                    .is_some_and(|(_, mv)| glob(v, mv))
            })
            && text(&self.subscription, s.subscription)
            && text(&self.resource_group, s.resource_group)
            && text(&self.vm, s.vm)
            && text(&self.protocol, s.protocol)
            && self
                .user
                .as_ref()
                .is_none_or(|u| s.users.iter().any(|h| glob(u, h)))
    }
}

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
