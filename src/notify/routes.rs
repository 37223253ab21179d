//! Routing: which notification types go to which destination, and from which severity.
//!
//! The optional TOML file `NOTIFY_ROUTES`; a destination it does not mention takes everything (a
//! missing section never drops notifications). `types = []` turns a destination off.
//!
//! ```toml
//! [teams]
//! types = ["recording.*", "session.unrecorded"]   # exact types, `prefix.*`, or "*"
//! min_severity = "warning"
//! [slack]
//! min_severity = "critical"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::names::named;
use crate::spine::{Notification, Severity};

named! {
    /// A kind of destination; at most one of each is configured (its routes-file section).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Destination {
        /// Teams Workflows webhook (Adaptive Card).
        Teams = "teams",
        /// Slack incoming webhook (Block Kit).
        Slack = "slack",
        /// A generic Standard Webhooks receiver.
        Webhook = "webhook",
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One destination's filter; a field the file leaves out takes the default's value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Route {
    /// Type patterns: `*`, an exact type, or `prefix.*`.
    pub types: Vec<String>,
    /// Lowest severity delivered.
    pub min_severity: Severity,
}

impl Default for Route {
    /// Every type, from the lowest severity.
    fn default() -> Self {
        Self {
            types: vec!["*".to_owned()],
            min_severity: Severity::Info,
        }
    }
}

impl Route {
    /// True when `n` passes this filter.
    pub fn accepts(&self, n: &Notification) -> bool {
        n.severity >= self.min_severity && self.types.iter().any(|p| type_matches(p, &n.kind))
    }
}

fn type_matches(pattern: &str, kind: &str) -> bool {
    let pattern = pattern.trim();
    match pattern.strip_suffix('*') {
        None => pattern == kind,
        Some("") => true,
        // `recording.*` matches `recording.x` and `recording.x.y`, not `recordingx` or `recording`.
        Some(prefix) => {
            prefix.ends_with('.') && kind.starts_with(prefix) && kind.len() > prefix.len()
        }
    }
}

/// Routes for every destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes(BTreeMap<Destination, Route>);

impl Routes {
    /// Parses the routes file.
    ///
    /// # Errors
    /// A description of the first problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let map: BTreeMap<Destination, Route> =
            toml::from_str(text).map_err(|e| e.message().to_owned())?;
        for (dest, route) in &map {
            if let Some(bad) = route.types.iter().find(|p| !valid_pattern(p)) {
                return Err(format!(
                    "[{dest}] types: invalid pattern {bad:?} (use \"*\", an exact type or \"prefix.*\")"
                ));
            }
        }
        Ok(Self(map))
    }

    /// True when `n` should go to `dest`.
    pub fn accepts(&self, dest: Destination, n: &Notification) -> bool {
        self.0.get(&dest).is_none_or(|r| r.accepts(n))
    }
}

fn valid_pattern(p: &str) -> bool {
    let p = p.trim();
    match p.find('*') {
        None => !p.is_empty(),
        Some(i) => p == "*" || (i == p.len() - 1 && p.ends_with(".*") && p.len() > 2),
    }
}

#[cfg(test)]
impl Routes {
    /// The route of `dest` (the default when the file does not mention it).
    pub fn route(&self, dest: Destination) -> Route {
        self.0.get(&dest).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn n(kind: &str, severity: Severity) -> Notification {
        Notification::new(
            kind,
            "f",
            "2025-01-01T00:00:00Z".into(),
            severity,
            "t".into(),
            json!({}),
        )
    }

    #[test]
    fn default_routes_everything_everywhere() {
        let r = Routes::default();
        for d in Destination::ALL {
            assert!(r.accepts(d, &n("anything.at.all", Severity::Info)));
        }
        assert_eq!(Routes::parse("").expect("empty file"), Routes::default());
    }

    #[test]
    fn types_and_severity_filter_per_destination() {
        let r = Routes::parse(
            "[teams]\ntypes = [\"recording.*\", \"session.unrecorded\"]\nmin_severity = \"warning\"\n[slack]\nmin_severity = \"critical\"\n[webhook]\ntypes = []\n",
        )
        .expect("parses");
        assert!(r.accepts(
            Destination::Teams,
            &n("recording.tampered", Severity::Critical)
        ));
        assert!(r.accepts(Destination::Teams, &n("recording.a.b", Severity::Warning)));
        assert!(
            !r.accepts(
                Destination::Teams,
                &n("recording.catalogued", Severity::Info)
            ),
            "below minimum"
        );
        assert!(
            !r.accepts(Destination::Teams, &n("recording", Severity::Critical)),
            "prefix alone"
        );
        assert!(
            !r.accepts(Destination::Teams, &n("recordings.x", Severity::Critical)),
            "prefix is dotted"
        );
        assert!(r.accepts(
            Destination::Teams,
            &n("session.unrecorded", Severity::Warning)
        ));
        assert!(
            !r.accepts(
                Destination::Teams,
                &n("session.unrecorded.x", Severity::Warning)
            ),
            "exact"
        );
        assert!(!r.accepts(Destination::Slack, &n("x", Severity::Warning)));
        assert!(
            r.accepts(Destination::Slack, &n("x", Severity::Critical)),
            "types default to all"
        );
        assert!(
            !r.accepts(Destination::Webhook, &n("x", Severity::Critical)),
            "types = [] is off"
        );
        assert_eq!(r.route(Destination::Slack).types, vec!["*".to_owned()]);
    }

    #[test]
    fn invalid_files_are_rejected() {
        for bad in [
            "[email]\ntypes=[\"*\"]",
            "[teams]\nmin_severity = \"loud\"",
            "[teams]\ntype = [\"*\"]",
            "[teams]\ntypes = [\"rec*\"]",
            "[teams]\ntypes = [\"*.x\"]",
            "[teams]\ntypes = [\"\"]",
            "[teams\n",
            "teams = 1",
        ] {
            assert!(Routes::parse(bad).is_err(), "{bad}");
        }
    }
}
