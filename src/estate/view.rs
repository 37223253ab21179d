//! One status per configured host (the page's strip), beside the stored findings.

use serde::Serialize;

use super::findings::Level;
use super::store::{Estate, Row};
use crate::arm::resource_name;

/// One host's strip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    /// Resource id.
    pub host: String,
    /// Name.
    pub host_name: String,
    /// `ok` (checked, nothing open), `high`, `medium`, `info` (the worst open finding), or
    /// `unchecked` (no check has stored anything yet).
    pub status: &'static str,
    /// Open findings' codes, worst first.
    pub open: Vec<String>,
    /// When it was last checked.
    pub last_checked: Option<String>,
}

/// The strip of every configured host, in configuration order (no longer configured: left out).
pub fn strips(hosts: &[String], estate: &Estate) -> Vec<HostStatus> {
    hosts
        .iter()
        .map(|h| {
            let checked = estate
                .checked
                .iter()
                .find(|(host, _)| host.eq_ignore_ascii_case(h))
                .map(|(_, at)| at.clone());
            let mut open: Vec<&Row> = estate
                .rows
                .iter()
                .filter(|r| r.host.eq_ignore_ascii_case(h) && r.status == "open")
                .collect();
            let level = |r: &Row| Level::parse(&r.severity).unwrap_or(Level::Info);
            open.sort_by_key(|r| (std::cmp::Reverse(level(r)), r.finding.clone()));
            let status = match open.first() {
                Some(r) => level(r).as_str(),
                None if checked.is_none() => "unchecked",
                None => "ok",
            };
            HostStatus {
                host: h.clone(),
                host_name: resource_name(h).to_owned(),
                status,
                open: open.iter().map(|r| r.finding.clone()).collect(),
                last_checked: checked,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(host: &str, finding: &str, severity: &str, status: &str) -> Row {
        Row {
            host: host.into(),
            host_name: resource_name(host).into(),
            finding: finding.into(),
            severity: severity.into(),
            status: status.into(),
            first_seen: "2026-11-25T12:00:00.000Z".into(),
            last_seen: "2026-11-25T12:15:00.000Z".into(),
            resolved_at: None,
            evidence: String::new(),
            earlier: Vec::new(),
        }
    }

    #[test]
    fn each_host_shows_its_worst_open_finding_or_ok_or_unchecked() {
        let hosts = [
            "/x/bastionHosts/a",
            "/x/bastionHosts/b",
            "/x/bastionHosts/c",
        ]
        .map(str::to_owned);
        let estate = Estate {
            rows: vec![
                row("/x/bastionHosts/a", "shareable-link-on", "info", "open"),
                row("/x/bastionHosts/a", "recording-off", "high", "open"),
                row("/x/bastionHosts/b", "recording-off", "high", "resolved"),
            ],
            checked: ["a", "b"]
                .map(|h| (format!("/x/bastionHosts/{h}"), "t".to_owned()))
                .into(),
            ..Estate::default()
        };
        let s = strips(&hosts, &estate);
        assert_eq!(s[0].status, "high");
        assert_eq!(s[0].open, vec!["recording-off", "shareable-link-on"]);
        assert_eq!(s[1].status, "ok");
        assert_eq!(s[2].status, "unchecked");
        assert_eq!(s[2].host_name, "c");
    }
}
