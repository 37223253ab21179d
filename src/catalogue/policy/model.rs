//! The retention policy model: the built-in policy, its classes and ordered rules, the subject a
//! rule matches, and the class and retain-until date it gives a blob.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use crate::dates::format_date;

/// `retainUntil` of a held blob: outside every sweep range (Find Blobs by Tags has no `<>`).
pub const HELD_UNTIL: &str = "9999-12-31";

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
