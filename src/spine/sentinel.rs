//! A finding's Sentinel rows: its notification as a row of `BastionDetections_CL` (the subject's
//! fields lifted from `data` under the names the producers use, and the whole `data`), and an
//! estate finding's episode, as its store keeps it, as a row of `BastionFindings_CL`.

use serde_json::Value;

use super::message::{Notification, stable_id};
use crate::dates::timestamp;
use crate::export::rows::{DetectionRow, FindingRow, text, time_of};
use crate::tables::{Entity, get_str};

/// The first non-empty text of `data` under any of `keys`; a list of texts is joined with `, `.
fn field(data: &Value, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| match data.get(*k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Array(a)) if !a.is_empty() => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// The detection row of `n`; `now` stands in for a time that does not parse.
pub fn detection_row(n: &Notification, now: time::OffsetDateTime) -> DetectionRow {
    let d = &n.data;
    DetectionRow {
        time_generated: timestamp(&n.time).unwrap_or(now),
        notification_id: n.notification_id.clone(),
        detection_type: n.kind.clone(),
        severity: n.severity.as_str().to_owned(),
        summary: n.title.clone(),
        bastion_host: field(d, &["bastionHost"]),
        bastion_resource_id: field(d, &["bastionResourceId", "bastionHostId"]),
        user_name: field(d, &["userName", "user"]),
        user_email: field(d, &["userEmail", "email"]),
        client_ip: field(d, &["clientIp", "clientIpAddress", "sourceIp"]),
        target_vm: field(d, &["targetVm", "vm"]),
        target_resource_id: field(d, &["targetResourceId"]),
        session_id: field(d, &["tunnelId", "sessionId"]),
        recording_id: field(d, &["recordingId"]),
        data: d.clone(),
    }
}

/// The row of an `estate` entity in its current state, one per episode's opening and clearing
/// (its id: host, finding and when it opened, as its notifications are named); `None` for the
/// host's `~checked` row or a row without an episode.
pub fn episode_row(e: &Entity) -> Option<FindingRow> {
    let code = get_str(e, "RowKey").filter(|rk| !rk.starts_with('~'))?;
    let status = get_str(e, "Status").filter(|v| *v == "open" || *v == "resolved")?;
    let opened = time_of(e, "OpenedAt")?;
    let (host, opened_text) = (text(e, "Host"), text(e, "OpenedAt"));
    let fact = format!("{}|{code}|{opened_text}", host.to_ascii_lowercase());
    let resolved = time_of(e, "ResolvedAt");
    Some(FindingRow {
        time_generated: resolved.filter(|_| status == "resolved").unwrap_or(opened),
        finding_id: stable_id("estate.episode", &fact),
        bastion_resource_id: host,
        bastion_host: text(e, "HostName"),
        finding: code.to_owned(),
        finding_severity: text(e, "Severity"),
        status: status.to_owned(),
        opened_at: Some(opened),
        resolved_at: resolved,
        evidence: text(e, "Evidence"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::spine::Severity;

    #[test]
    fn the_subject_is_lifted_from_the_producers_fields() {
        let n = Notification::new(
            "login.failed.burst",
            "2025-03-14T09:00:00Z|ip|203.0.113.9|vm-1",
            "2025-03-14T09:00:00Z".into(),
            Severity::Warning,
            "6 failed Bastion logins from one client IP to vm-1 within 15 min".into(),
            json!({"dimension": "clientIp", "clientIp": "203.0.113.9", "userNames": ["a", "b"],
                "targetVm": "vm-1", "bastionHost": "bas-hub-weu", "bastionResourceId": "/subscriptions/s/b"}),
        );
        let now = datetime!(2025-03-15 00:00 UTC);
        let r = detection_row(&n, now);
        assert_eq!(r.time_generated, datetime!(2025-03-14 09:00 UTC));
        assert_eq!(r.notification_id, n.notification_id);
        assert_eq!(
            (r.severity.as_str(), r.client_ip.as_str()),
            ("warning", "203.0.113.9")
        );
        assert_eq!(r.target_vm, "vm-1");
        assert_eq!(r.bastion_resource_id, "/subscriptions/s/b");
        assert_eq!(r.data["userNames"][1], "b");
        let bad = Notification {
            time: "soon".into(),
            ..n
        };
        assert_eq!(detection_row(&bad, now).time_generated, now);
    }
}
