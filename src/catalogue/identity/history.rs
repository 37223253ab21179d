//! A host's recording identity over time, as the estate checks observed it: a short list of
//! runs, oldest first, each one identity (or none named, or [`NOT_HERE`]) with the first and the
//! last check that read it (`from`, `to`). Two checks that read the same identity one after the
//! other are taken to cover the time between them; between two runs that differ, and before the
//! first run kept, no observation covers a time. After the last run the identity is the last one
//! read, not yet confirmed: the next check either extends that run over the time or starts
//! another, leaving the time in a gap. At most [`MAX_RUNS`] runs are kept (the oldest dropped).

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::dates::{format_utc, timestamp};

/// Runs kept per host and container.
pub const MAX_RUNS: usize = 20;
/// The principal of a run in which the host was read recording somewhere else (or no longer
/// configured): it writes nothing here from then on.
pub const NOT_HERE: &str = "-";

/// One identity read by consecutive checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The object id (lower-case), empty when the answer named none, or [`NOT_HERE`].
    pub principal: String,
    /// The first check that read it.
    pub from: OffsetDateTime,
    /// The last check that read it.
    pub to: OffsetDateTime,
}

/// What the runs say about time `t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At<'a> {
    /// A run covers `t`: its principal (empty: none named; [`NOT_HERE`]).
    Named(&'a str),
    /// `t` is after the last check: the principal it read, not yet confirmed for `t`.
    After(&'a str),
    /// No observation covers `t` (before the first run kept, or between two that differ).
    Unobserved,
}

/// Records that a check at `at` read `principal`; false when it adds nothing (a check not newer
/// than the last one read).
pub fn observe(runs: &mut Vec<Run>, principal: &str, at: OffsetDateTime) -> bool {
    match runs.last_mut() {
        Some(last) if at <= last.to => return false,
        Some(last) if last.principal == principal => last.to = at,
        _ => runs.push(Run {
            principal: principal.to_owned(),
            from: at,
            to: at,
        }),
    }
    if runs.len() > MAX_RUNS {
        let extra = runs.len() - MAX_RUNS;
        runs.drain(..extra);
    }
    true
}

/// What `runs` say about time `t`.
pub fn at(runs: &[Run], t: OffsetDateTime) -> At<'_> {
    let Some(last) = runs.last() else {
        return At::Unobserved;
    };
    if t > last.to {
        return At::After(&last.principal);
    }
    runs.iter()
        .find(|r| r.from <= t && t <= r.to)
        .map_or(At::Unobserved, |r| At::Named(&r.principal))
}

/// The runs as stored (`History`: a JSON array of `{p, from, to}`).
pub fn to_text(runs: &[Run]) -> String {
    let list: Vec<Value> = runs
        .iter()
        .map(|r| json!({"p": r.principal, "from": format_utc(r.from), "to": format_utc(r.to)}))
        .collect();
    Value::Array(list).to_string()
}

/// The runs of a stored `History` (an entry that does not read is dropped).
pub fn from_text(text: &str) -> Vec<Run> {
    let Ok(Value::Array(list)) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|v| {
            let time = |k: &str| v[k].as_str().and_then(timestamp);
            Some(Run {
                principal: v["p"].as_str()?.to_owned(),
                from: time("from")?,
                to: time("to")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_time_is_covered_only_between_two_checks_that_read_the_same_identity() {
        let t0 = datetime!(2026-03-14 09:00 UTC);
        let m = |n: i64| t0 + Duration::minutes(n);
        let mut runs = Vec::new();
        assert_eq!(at(&runs, m(0)), At::Unobserved);
        assert!(observe(&mut runs, "a", m(0)));
        assert!(observe(&mut runs, "a", m(15)));
        assert!(!observe(&mut runs, "b", m(15)), "not newer: nothing new");
        assert!(observe(&mut runs, "b", m(30)));
        assert_eq!(runs.len(), 2);
        assert_eq!(at(&runs, m(-1)), At::Unobserved, "before the first check");
        assert_eq!(at(&runs, m(7)), At::Named("a"));
        assert_eq!(at(&runs, m(15)), At::Named("a"));
        assert_eq!(
            at(&runs, m(20)),
            At::Unobserved,
            "changed between 15 and 30"
        );
        assert_eq!(at(&runs, m(30)), At::Named("b"));
        assert_eq!(at(&runs, m(31)), At::After("b"), "not yet confirmed");
        assert!(observe(&mut runs, "b", m(45)));
        assert_eq!(at(&runs, m(31)), At::Named("b"));
        assert_eq!(from_text(&to_text(&runs)), runs);
        assert!(from_text("not json").is_empty());
    }

    #[test]
    fn the_history_keeps_the_newest_runs() {
        let t0 = datetime!(2026-03-14 09:00 UTC);
        let mut runs = Vec::new();
        for i in 0..(MAX_RUNS as i64 + 5) {
            let p = if i % 2 == 0 { "a" } else { "b" };
            observe(&mut runs, p, t0 + Duration::minutes(15 * i));
        }
        assert_eq!(runs.len(), MAX_RUNS);
        assert_eq!(runs[0].from, t0 + Duration::minutes(15 * 5));
        assert_eq!(at(&runs, t0), At::Unobserved, "older than the runs kept");
    }
}
