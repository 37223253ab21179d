//! The retention policy model (TOML, format in docs/retention.md): classes, ordered rules,
//! classification, and the tag merge rule.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use super::HELD_UNTIL;
use crate::dates::format_date;

mod load;
mod text;

pub use load::load;
pub use text::{glob, is_tag_safe, merge_tags};

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
    /// Parses and validates a policy.
    ///
    /// # Errors
    /// A message naming the problem (unknown class in a rule, class without days, bad TOML).
    pub fn parse(text: &str) -> Result<Self, String> {
        let p: Self = toml::from_str(text).map_err(|e| format!("retention policy: {e}"))?;
        p.validate()?;
        Ok(p)
    }

    /// The built-in default policy.
    pub fn builtin() -> Self {
        // A unit test parses the constant; the fallback avoids a panic.
        Self::parse(DEFAULT_POLICY).unwrap_or_else(|_| Self {
            default: "ops-30d".into(),
            classes: BTreeMap::from([(
                "ops-30d".into(),
                Class {
                    days: Some(30),
                    ..Class::default()
                },
            )]),
            rules: Vec::new(),
        })
    }

    fn validate(&self) -> Result<(), String> {
        let known = |c: &str| self.classes.contains_key(c);
        if !known(&self.default) {
            return Err(format!(
                "retention policy: default class `{}` is not defined",
                self.default
            ));
        }
        for (name, c) in &self.classes {
            if !crate::retention::policy::is_tag_safe(name) {
                return Err(format!(
                    "retention policy: class name `{name}` is not a valid tag value"
                ));
            }
            if c.days.is_none() && !c.hold {
                return Err(format!(
                    "retention policy: class `{name}` needs `days` or `hold = true`"
                ));
            }
        }
        if let Some(r) = self.rules.iter().find(|r| !known(&r.class)) {
            return Err(format!(
                "retention policy: rule uses undefined class `{}`",
                r.class
            ));
        }
        Ok(())
    }

    /// The class for `subject`: the first matching rule, else the default.
    pub fn class_for(&self, subject: &Subject<'_>) -> &str {
        self.rules
            .iter()
            .find(|r| r.matches(subject))
            .map_or(&self.default, |r| &r.class)
    }

    /// Classifies a blob created on `created`.
    pub fn classify(&self, subject: &Subject<'_>, created: OffsetDateTime) -> Retention {
        let class = self.class_for(subject).to_owned();
        let until = self.until_for(&class, created.date());
        Retention { class, until }
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

#[cfg(test)]
mod tests;
