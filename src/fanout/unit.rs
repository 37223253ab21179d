//! The unit of fan-out: one timer's work for one period (the queue message the planner sends and
//! `WorkUnit` takes), and the period a tick belongs to.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dates::format_utc_millis;

/// One unit of a timer's work for one period: the queue message. Its keys avoid the names the
/// queue trigger reserves in `Metadata` (`Id`, `DequeueCount`, `PopReceipt`, the times).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unit {
    /// The timer that planned it (`LiveSessions`, …).
    pub timer: String,
    /// What it covers: a host's resource id, a workspace id, a source's label.
    pub unit: String,
    /// The period (the tick's minute, RFC 3339 UTC with milliseconds).
    pub period: String,
    /// The tick's time: the unit's "now", whenever it runs.
    pub at: String,
    /// Stable id of (timer, unit, period).
    pub unit_id: String,
    /// When it was planned, by the planner's clock (RFC 3339 UTC with milliseconds).
    #[serde(default)]
    pub planned: String,
    /// The unit's last run left nothing its next run must read back (its timer's rule): its run
    /// may skip those reads on a first delivery.
    #[serde(default)]
    pub quiet: bool,
    /// The periods running the unit ended poisoned before this one.
    #[serde(default)]
    pub failed_periods: u32,
    /// What its timer knew of the unit when planning it, in the timer's words (`AuditLogTail`:
    /// the lengths its host's hour blobs were read to); empty when nothing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub known: String,
    /// The ETag of the unit's row as the planner read it (or wrote it `planned`, for a unit with
    /// no row yet): a first delivery claims the row on it, so a second copy of the message (an
    /// output put twice) runs nothing.
    #[serde(default)]
    pub etag: String,
}

impl Unit {
    /// The unit `unit` of `timer`'s tick at `at`.
    pub fn new(timer: &str, unit: &str, at: OffsetDateTime) -> Self {
        let period = format_utc_millis(period_of(at));
        let unit_id = crate::spine::stable_id("work.unit", &[timer, unit, &period].join("\n"));
        Self {
            timer: timer.to_owned(),
            unit: unit.to_owned(),
            period,
            at: format_utc_millis(at),
            unit_id,
            ..Self::default()
        }
    }
}

/// A tick's period: its minute (every schedule fires on a whole minute, so the same tick on two
/// instances, or a tick run twice, has one period).
pub fn period_of(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(at)
}
