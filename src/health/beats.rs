//! Heartbeats: each function's last invocation (when, how it ended, its last success and
//! failure), kept in memory per instance and as a row of table `heartbeats` once flushed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::dates::{format_utc_millis, timestamp};
use crate::tables::{Entity, get_str};

/// Table of per-function heartbeat rows (PK [`HEARTBEAT_PK`], RK = function name).
pub const HEARTBEATS_TABLE: &str = "heartbeats";
/// Partition of heartbeat rows.
pub const HEARTBEAT_PK: &str = "function";
/// How a function's invocations last ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    /// When the last invocation completed.
    pub at: OffsetDateTime,
    /// Its ending: `processed`, `skipped`, `poisoned` or `failed`.
    pub outcome: String,
    /// Last `processed`/`skipped` ending.
    pub last_success: Option<OffsetDateTime>,
    /// Last `poisoned`/`failed` ending.
    pub last_failure: Option<OffsetDateTime>,
}

/// True for the endings that did the job (or rightly had nothing to do).
pub fn is_success(outcome: &str) -> bool {
    matches!(outcome, "processed" | "skipped")
}

impl Beat {
    /// One ending at `at`.
    pub fn new(outcome: &str, at: OffsetDateTime) -> Self {
        let ok = is_success(outcome);
        Self {
            at,
            outcome: outcome.to_owned(),
            last_success: ok.then_some(at),
            last_failure: (!ok).then_some(at),
        }
    }

    /// [`merge`](Self::merge) with one ending `outcome` at `at`, in place.
    pub fn absorb(&mut self, outcome: &str, at: OffsetDateTime) {
        if at >= self.at {
            self.at = at;
            if self.outcome != outcome {
                outcome.clone_into(&mut self.outcome);
            }
        }
        let last = if is_success(outcome) {
            &mut self.last_success
        } else {
            &mut self.last_failure
        };
        *last = (*last).max(Some(at));
    }

    /// The union of two histories: the newer ending (`other` on a tie), the newest of each kind.
    #[must_use]
    pub fn merge(&self, other: &Self) -> Self {
        let newest = if other.at >= self.at { other } else { self };
        Self {
            at: newest.at,
            outcome: newest.outcome.clone(),
            last_success: self.last_success.max(other.last_success),
            last_failure: self.last_failure.max(other.last_failure),
        }
    }

    /// The stored row's properties.
    pub fn to_entity(&self) -> Entity {
        let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
        crate::tables::entity(
            json!({"LastAt": format_utc_millis(self.at), "LastOutcome": self.outcome,
            "LastSuccessAt": t(self.last_success), "LastFailureAt": t(self.last_failure)}),
        )
    }

    /// Reads a stored row; `None` when it lacks a usable `LastAt`.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let t = |k: &str| get_str(e, k).and_then(timestamp);
        Some(Self {
            at: t("LastAt")?,
            outcome: get_str(e, "LastOutcome").unwrap_or("unknown").to_owned(),
            last_success: t("LastSuccessAt"),
            last_failure: t("LastFailureAt"),
        })
    }

    /// The JSON shown by the health endpoint.
    pub fn to_json(&self) -> Value {
        let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis);
        json!({"lastAt": format_utc_millis(self.at), "outcome": self.outcome,
            "lastSuccessAt": t(self.last_success), "lastFailureAt": t(self.last_failure)})
    }
}

/// This instance's heartbeats: recorded per invocation in memory, flushed by
/// [`flush::run`](super::flush::run).
#[derive(Debug)]
pub struct Heartbeats {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    beats: BTreeMap<String, Beat>,
    dirty: BTreeMap<String, Beat>,
}

impl Heartbeats {
    /// Heartbeats flushed every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new(State::default()),
        }
    }

    /// The flush interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    // A poisoned lock only means another recorder panicked mid-insert; the maps stay usable.
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one ending. No I/O: this runs on every invocation.
    pub fn record(&self, function: &str, outcome: &str, at: OffsetDateTime) {
        let mut guard = self.state();
        let s = &mut *guard;
        // Merged in place: after the first invocation of a function this allocates nothing.
        for beats in [&mut s.beats, &mut s.dirty] {
            match beats.get_mut(function) {
                Some(beat) => beat.absorb(outcome, at),
                None => {
                    beats.insert(function.to_owned(), Beat::new(outcome, at));
                }
            }
        }
    }

    /// Everything this instance has seen since it started.
    pub fn snapshot(&self) -> BTreeMap<String, Beat> {
        self.state().beats.clone()
    }

    /// Takes the beats recorded since the last flush.
    pub fn take_dirty(&self) -> BTreeMap<String, Beat> {
        std::mem::take(&mut self.state().dirty)
    }

    /// Puts back beats a failed flush could not write (merged with any newer ones).
    pub fn restore(&self, beats: BTreeMap<String, Beat>) {
        let mut s = self.state();
        for (f, b) in beats {
            let merged = s.dirty.get(&f).map_or(b.clone(), |d| d.merge(&b));
            s.dirty.insert(f, merged);
        }
    }
}
