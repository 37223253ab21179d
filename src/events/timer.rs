//! The host's `TimerInfo` (PascalCase); only `IsPastDue` is read, the schedule is ignored.

use serde::Deserialize;

/// `Data.timer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimerInfo {
    /// True when this run is late (the host was down at the scheduled time).
    #[serde(default)]
    pub is_past_due: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn past_due_is_read_and_the_schedule_ignored() {
        let t: TimerInfo = serde_json::from_value(json!({"Schedule":{"AdjustForDST":true},
            "ScheduleStatus":{"Last":"0001-01-01T00:00:00","Next":"2025-03-16T02:00:00+00:00"},"IsPastDue":false}))
        .expect("timer");
        assert!(!t.is_past_due);
        let t: TimerInfo =
            serde_json::from_value(json!({"ScheduleStatus":null,"IsPastDue":true})).expect("timer");
        assert!(t.is_past_due);
    }
}
