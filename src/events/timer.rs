//! The host's `TimerInfo` (PascalCase; `ScheduleStatus` may be `null`; dates lenient).

use serde::Deserialize;
use time::OffsetDateTime;

use crate::dates::timestamp;

/// `Data.timer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimerInfo {
    /// True when this run is late (the host was down at the scheduled time).
    #[serde(default)]
    pub is_past_due: bool,
    /// Last/next occurrence; `null` when schedule monitoring is off.
    #[serde(default)]
    pub schedule_status: Option<ScheduleStatus>,
}

/// `ScheduleStatus`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleStatus {
    /// Last run; `0001-01-01T00:00:00` on the first run.
    #[serde(default)]
    pub last: Option<String>,
    /// Next scheduled run.
    #[serde(default)]
    pub next: Option<String>,
}

impl TimerInfo {
    /// The previous run, or `None` on a first run (`DateTime.MinValue`) or without monitoring.
    pub fn last_run(&self) -> Option<OffsetDateTime> {
        let last = self
            .schedule_status
            .as_ref()?
            .last
            .as_deref()
            .and_then(timestamp)?;
        (last.year() > 1).then_some(last)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn first_run_and_null_status_have_no_last_run() {
        let t: TimerInfo = serde_json::from_value(json!({"Schedule":{"AdjustForDST":true},
            "ScheduleStatus":{"Last":"0001-01-01T00:00:00","Next":"2025-03-16T02:00:00+00:00"},"IsPastDue":false}))
        .expect("timer");
        assert!(t.last_run().is_none());
        let t: TimerInfo =
            serde_json::from_value(json!({"ScheduleStatus":null,"IsPastDue":true})).expect("timer");
        assert!(t.is_past_due && t.last_run().is_none());
        let t: TimerInfo =
            serde_json::from_value(json!({"ScheduleStatus":{"Last":"2025-03-15T02:00:00+00:00"}}))
                .expect("timer");
        assert_eq!(t.last_run().map(|d| d.day()), Some(15));
    }
}
