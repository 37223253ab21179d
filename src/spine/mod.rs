//! The spine: what the product reports, declared once ([`kinds::KINDS`]), and the one path a
//! finding takes to every channel.
//!
//! A domain decides a [`Finding`] (a value of a declared [`Kind`]: its fact's key, time, level,
//! evidence and the words its title needs) and returns it; its entry point hands the findings to
//! [`send`], the one place a notification is made (the stable id of the fact, [`Finding::id`],
//! the declared title filled in) and put on the [`QUEUE`]; `NotifyWebhook` records it in the
//! Sentinel outbox ([`sentinel::detection_row`]) and delivers it. The episode of a finding that
//! opens and resolves (estate) is kept by its store, which raises the opening and the resolving
//! kind.

pub mod kinds;
pub mod message;
pub mod reasons;
pub mod sentinel;

use serde::Serialize;
use serde_json::Value;

use crate::invocation::Outcome;

pub use kinds::{Episode, Id, Kind, Subject};
pub use message::{Notification, Severity, stable_id};

/// The queue (and its output binding) carrying notifications.
pub const QUEUE: &str = "notifications";

/// One fact of a declared kind, as a domain decides it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding<D = Value> {
    /// Its declaration.
    pub kind: &'static Kind,
    /// Names the fact uniquely: the same fact, the same key, the same id.
    pub key: String,
    /// When the fact happened (RFC 3339 UTC).
    pub at: String,
    /// One of the kind's declared levels.
    pub level: Severity,
    /// The evidence fields (the notification's `data`).
    pub evidence: D,
    /// The words the title's placeholders take, by name.
    pub words: Vec<(&'static str, String)>,
}

impl<D> Finding<D> {
    /// A finding of `kind` about the fact `key`, at `at`, with `evidence`.
    pub fn new(
        kind: &'static Kind,
        key: impl Into<String>,
        at: impl Into<String>,
        level: Severity,
        evidence: D,
    ) -> Self {
        Self {
            kind,
            key: key.into(),
            at: at.into(),
            level,
            evidence,
            words: Vec::new(),
        }
    }

    /// This finding with the title word `name` set to `value`.
    #[must_use]
    pub fn word(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.words.push((name, value.into()));
        self
    }

    /// The id of its notification, as its declaration derives it from the key (what a burst or
    /// an episode names before the notification is sent).
    pub fn id(&self) -> String {
        match self.kind.id {
            Id::Digest => stable_id(self.kind.name, &self.key),
            Id::Follows(suffix) => [self.key.as_str(), suffix].concat(),
        }
    }
}

impl Finding {
    /// This finding with its Bastion host's resource id as `bastionResourceId` when known: the
    /// portal link of chat notifications and the Sentinel row's resource id ([`sentinel`]).
    #[must_use]
    pub fn portal(mut self, bastion_id: Option<&str>) -> Self {
        if let Some(id) = bastion_id {
            self.evidence["bastionResourceId"] = Value::String(id.to_owned());
        }
        self
    }
}

#[cfg(test)]
impl<D: Serialize + Clone> Finding<D> {
    /// Its notification, as [`send`] makes it (what tests read).
    pub(crate) fn told(&self) -> Notification<D> {
        alert(self.clone())
    }
}

/// What a domain made of one input, for its entry point to end the invocation with: a line saying
/// what it did (`skipped`: why it had nothing to do) and the findings it raised (a skip that raises
/// one is not a skip).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Handled {
    /// The line for the invocation log.
    pub line: String,
    /// Nothing was done.
    pub skipped: bool,
    /// What it found, for [`send`].
    pub findings: Vec<Finding>,
}

impl Handled {
    /// Done, as `line` says.
    pub fn done(line: impl Into<String>) -> Self {
        Self {
            line: line.into(),
            ..Self::default()
        }
    }

    /// Nothing to do, for the reason `why`.
    pub fn skipped(why: impl Into<String>) -> Self {
        Self {
            skipped: true,
            ..Self::done(why)
        }
    }

    /// This with `found` raised too.
    #[must_use]
    pub fn found(mut self, found: impl IntoIterator<Item = Finding>) -> Self {
        self.findings.extend(found);
        self
    }
}

/// The one path: the notification of each of `found`, in order, put on the [`QUEUE`] of
/// `outcome` (what every entry point does with the findings its domain returns).
pub fn send<D: Serialize>(
    outcome: Outcome,
    found: impl IntoIterator<Item = Finding<D>>,
) -> Outcome {
    (found.into_iter()).fold(outcome, |o, f| o.with_output(QUEUE, &alert(f)))
}

/// The messages [`send`] puts on the [`QUEUE`] for `found`, as JSON (a backfill's run, which
/// hands every output to its caller).
pub fn messages<D: Serialize>(found: impl IntoIterator<Item = Finding<D>>) -> Vec<Value> {
    found.into_iter().map(|f| alert(f).to_output()).collect()
}

/// The notification of `f`: its kind's name, [`Finding::id`], the declared title with the words
/// filled in (a `{name!}` placeholder isolated as outside text).
fn alert<D: Serialize>(f: Finding<D>) -> Notification<D> {
    debug_assert!(
        f.kind.levels.contains(&f.level),
        "{}: undeclared level",
        f.kind.name
    );
    debug_assert!(
        carries(&f.evidence, f.kind),
        "{}: evidence missing",
        f.kind.name
    );
    Notification {
        kind: f.kind.name.to_owned(),
        notification_id: f.id(),
        title: fill(f.kind.title, &f.words),
        time: f.at,
        severity: f.level,
        data: f.evidence,
    }
}

/// True when `evidence` has every one of `kind`'s fields (checked in debug builds: each producer's tests
/// prove it carries what its kind declares).
fn carries(evidence: &impl Serialize, kind: &Kind) -> bool {
    let v = serde_json::to_value(evidence).unwrap_or(Value::Null);
    kind.fields().all(|k| v.get(k).is_some())
}

/// `template` with each `{name}` replaced by its word (`{name!}`: isolated); a placeholder without
/// a word stays as written, so the declarations' walk finds it.
fn fill(template: &str, words: &[(&'static str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &rest[open + 1..close];
        let (bare, isolated) = name.strip_suffix('!').map_or((name, false), |n| (n, true));
        match words.iter().find(|(w, _)| *w == bare) {
            Some((_, v)) if isolated => out.push_str(&crate::telemetry::text::isolate(v)),
            Some((_, v)) => out.push_str(v),
            None => out.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
