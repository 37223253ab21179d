//! The path of an hourly audit-log blob (pure): `resourceId=/SUBSCRIPTIONS/<sub>/RESOURCEGROUPS/<rg>/
//! PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/<name>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`, matched
//! case-insensitively; [`HostPath`] spells a host's other hours as its existing blob does (blob
//! names are case-sensitive), and a [`Host`]'s listings cover the hours it watches.

use std::collections::BTreeMap;

use time::{Date, Duration, Month, OffsetDateTime, Time};

use crate::audit_logs::repo::Cursor;

/// A parsed `PT1H.json` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourBlob {
    /// Bastion host name, lower-case.
    pub bastion_host: String,
    /// Start of the hour the blob collects (receive time).
    pub hour: OffsetDateTime,
}

/// Parses a blob name; `None` (with the reason) when it is not an hourly Bastion audit-log blob.
///
/// # Errors
/// A short reason naming the first part that does not fit.
pub fn parse_blob_path(name: &str) -> Result<HourBlob, String> {
    let parts: Vec<&str> = name.split('/').collect();
    let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
    let is = |i: usize, want: &str| lower.get(i).is_some_and(|p| p == want);
    // [resourceid=, subscriptions, <sub>, resourcegroups, <rg>, providers, microsoft.network, bastionhosts, <name>, y=, m=, d=, h=, m=00, pt1h.json]
    if parts.len() != 15
        || !is(0, "resourceid=")
        || !is(1, "subscriptions")
        || !is(3, "resourcegroups")
        || !is(5, "providers")
    {
        return Err("not a resourceId=/SUBSCRIPTIONS/…/RESOURCEGROUPS/… path".into());
    }
    if !is(6, "microsoft.network") || !is(7, "bastionhosts") {
        return Err("not a Microsoft.Network/bastionHosts resource".into());
    }
    if !is(13, "m=00") || !is(14, "pt1h.json") {
        return Err("not an hourly PT1H.json blob".into());
    }
    let field = |i: usize, key: &str, len: usize| -> Result<u16, String> {
        let v = lower[i]
            .strip_prefix(key)
            .filter(|v| v.len() == len && v.bytes().all(|b| b.is_ascii_digit()));
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("bad `{key}` segment"))
    };
    let (y, m, d, h) = (
        field(9, "y=", 4)?,
        field(10, "m=", 2)?,
        field(11, "d=", 2)?,
        field(12, "h=", 2)?,
    );
    let month = Month::try_from(u8::try_from(m).unwrap_or(0)).map_err(|_| "bad month")?;
    let date = Date::from_calendar_date(i32::from(y), month, u8::try_from(d).unwrap_or(0))
        .map_err(|_| "bad date")?;
    let time = Time::from_hms(u8::try_from(h).unwrap_or(99), 0, 0).map_err(|_| "bad hour")?;
    if [2, 4, 8].iter().any(|&i| parts[i].is_empty()) {
        return Err("empty subscription, resource group or host".into());
    }
    Ok(HourBlob {
        bastion_host: lower[8].clone(),
        hour: date.with_time(time).assume_utc(),
    })
}

/// One Bastion host's hour-blob names, spelled as a blob of that host is (`sample`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPath {
    /// `resourceId=/SUBSCRIPTIONS/…/BASTIONHOSTS/<NAME>` as the sample spells it (no trailing `/`).
    pub host: String,
    /// The keys `y=`, `m=`, `d=`, `h=` and the last two segments (`m=00`, `PT1H.json`), as spelled.
    keys: [String; 4],
    tail: String,
}

impl HostPath {
    /// The host of the hour blob `sample`; `None` when it is not an hourly Bastion audit-log blob.
    pub fn of(sample: &str) -> Option<Self> {
        parse_blob_path(sample).ok()?;
        let parts: Vec<&str> = sample.split('/').collect();
        let key = |i: usize| parts[i].get(..2).unwrap_or_default().to_owned();
        Some(Self {
            host: parts[..9].join("/"),
            keys: [key(9), key(10), key(11), key(12)],
            tail: parts[13..].join("/"),
        })
    }

    /// The prefix every hour blob of `hour`'s month shares: `<host>/y=YYYY/m=MM/`.
    pub fn month_prefix(&self, hour: OffsetDateTime) -> String {
        let [y, m, _, _] = &self.keys;
        format!(
            "{}/{y}{:04}/{m}{:02}/",
            self.host,
            hour.year(),
            u8::from(hour.month())
        )
    }

    /// The name of the hour blob of `hour`.
    pub fn blob(&self, hour: OffsetDateTime) -> String {
        let [_, _, d, h] = &self.keys;
        format!(
            "{}{d}{:02}/{h}{:02}/{}",
            self.month_prefix(hour),
            hour.day(),
            hour.hour(),
            self.tail
        )
    }
}

/// The first hour of every month from `from`'s to `to`'s, in order (one listing prefix each).
pub fn months(from: OffsetDateTime, to: OffsetDateTime) -> Vec<OffsetDateTime> {
    let start = |t: OffsetDateTime| {
        t.replace_day(1)
            .map(|t| t.replace_time(Time::MIDNIGHT))
            .unwrap_or(t)
    };
    let mut out = Vec::new();
    let mut at = start(from);
    while at <= to {
        out.push(at);
        // The 1st of the next month: 32 days on from the 1st always lands in it.
        at = start(at + Duration::days(32));
    }
    out
}

/// One Bastion host of one audit-log source, with its active cursors.
#[derive(Debug, Clone)]
pub struct Host {
    /// The cursors' source: `(account, container)`, empty for the default source.
    pub source: (String, String),
    /// How its blobs are named.
    pub path: HostPath,
    /// Its active cursors.
    pub cursors: Vec<Cursor>,
}

/// Groups `cursors` by source and host (a name that is no hour-blob path has no host: left out).
pub fn hosts(cursors: Vec<Cursor>) -> Vec<Host> {
    let mut by: BTreeMap<((String, String), String), Host> = BTreeMap::new();
    for c in cursors {
        let Some(path) = HostPath::of(&c.blob) else {
            continue;
        };
        let source = (c.account.clone(), c.container.clone());
        by.entry((source.clone(), path.host.clone()))
            .or_insert_with(|| Host {
                source,
                path,
                cursors: Vec::new(),
            })
            .cursors
            .push(c);
    }
    by.into_values().collect()
}

/// True while the hour blob of `hour` is watched: from an hour before it until `window` after it.
pub fn watched(hour: OffsetDateTime, now: OffsetDateTime, window: Duration) -> bool {
    now < hour + Duration::hours(1) + window && hour <= now + Duration::hours(1)
}

fn floor_hour(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_time(time::Time::from_hms(t.hour(), 0, 0).unwrap_or(time::Time::MIDNIGHT))
}

impl Host {
    /// The host as a work unit's name: `<account>/<container>/` of its source, then its path
    /// (`resourceId=/SUBSCRIPTIONS/…/BASTIONHOSTS/<NAME>`; the path alone for a cursor without a
    /// source).
    pub fn unit(&self) -> String {
        let (account, container) = &self.source;
        if account.is_empty() && container.is_empty() {
            return self.path.host.clone();
        }
        [account, "/", container, "/", &self.path.host].concat()
    }

    /// The source (`(account, container)`) and host path of a [`Host::unit`] name; `None` when it
    /// names no host path.
    pub fn parse_unit(unit: &str) -> Option<((String, String), String)> {
        let at = unit.to_ascii_lowercase().find("resourceid=")?;
        let (source, path) = unit.split_at(at);
        let source = match source.strip_suffix('/') {
            None if source.is_empty() => (String::new(), String::new()),
            Some(s) => {
                let (account, container) = s.split_once('/')?;
                (account.to_owned(), container.to_owned())
            }
            None => return None,
        };
        Some((source, path.to_owned()))
    }

    /// The listings that cover the host's watched hours and its cursors (those past the window are
    /// retired from the same listing): `(prefix, from)`, one per month, the first from its first
    /// hour's name on.
    pub fn listings(&self, now: OffsetDateTime, window: Duration) -> Vec<(String, String)> {
        let oldest = self.cursors.iter().map(|c| c.hour).min();
        let newest = self.cursors.iter().map(|c| c.hour).max();
        let from = floor_hour(now - window - Duration::hours(1));
        let from = oldest.map_or(from, |o| o.min(from));
        let to = floor_hour(now) + Duration::hours(1);
        let to = newest.map_or(to, |n| n.max(to));
        months(from, to)
            .into_iter()
            .map(|month| {
                let first = month.max(from);
                (self.path.month_prefix(month), self.path.blob(first))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const GOOD: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";

    #[test]
    fn parses_the_documented_path_case_insensitively() {
        let b = parse_blob_path(GOOD).expect("path");
        assert_eq!(b.bastion_host, "bas-hub-weu");
        assert_eq!(b.hour, datetime!(2025-03-14 09:00 UTC));
        assert_eq!(
            parse_blob_path(&GOOD.to_ascii_lowercase()).expect("lower"),
            b
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "PT1H.json",
            &GOOD.replace("BASTIONHOSTS", "VIRTUALNETWORKS"),
            &GOOD.replace("h=09", "h=24"),
            &GOOD.replace("m=03", "m=13"),
            &GOOD.replace("d=14", "d=30").replace("m=03", "m=02"),
            &GOOD.replace("/m=00/", "/m=05/"),
            &GOOD.replace("PT1H.json", "PT1H.json.tmp"),
            &GOOD.replace("y=2025", "y=25"),
            &format!("extra/{GOOD}"),
        ] {
            assert!(parse_blob_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hosts_other_hours_are_spelled_as_its_blobs_are() {
        let mixed = GOOD
            .replace("y=2025", "Y=2025")
            .replace("PT1H.json", "pt1h.json");
        let host = HostPath::of(&mixed).expect("host");
        assert!(host.host.ends_with("/BASTIONHOSTS/BAS-HUB-WEU"));
        let other = datetime!(2024-12-31 23:00 UTC);
        let name = host.blob(other);
        assert!(
            name.ends_with("/BAS-HUB-WEU/Y=2024/m=12/d=31/h=23/m=00/pt1h.json"),
            "{name}"
        );
        assert_eq!(parse_blob_path(&name).expect("parses").hour, other);
        assert!(name.starts_with(&host.month_prefix(other)));
        assert!(
            host.month_prefix(other)
                .ends_with("/BAS-HUB-WEU/Y=2024/m=12/")
        );
        assert_eq!(HostPath::of("PT1H.json"), None);
    }

    #[test]
    fn a_hosts_unit_name_gives_back_its_source_and_path() {
        let cursor = |account: &str| {
            Cursor::new(
                GOOD,
                datetime!(2025-03-14 09:00 UTC),
                datetime!(2025-03-14 09:00 UTC),
                "bas-hub-weu",
            )
            .in_source((
                account.to_owned(),
                if account.is_empty() {
                    String::new()
                } else {
                    "insights-logs-bastionauditlogs".to_owned()
                },
            ))
        };
        for account in ["", "stneu"] {
            let host = hosts(vec![cursor(account)]).remove(0);
            let unit = host.unit();
            assert_eq!(
                Host::parse_unit(&unit),
                Some((host.source.clone(), host.path.host.clone())),
                "{unit}"
            );
        }
        assert!(
            hosts(vec![cursor("")])[0]
                .unit()
                .starts_with("resourceId=/SUBSCRIPTIONS/")
        );
        assert_eq!(Host::parse_unit("stneu/resourceId=/x"), None);
        assert_eq!(Host::parse_unit("workspace"), None);
    }

    #[test]
    fn months_cover_the_hours_between_two_times() {
        let m = |a, b| months(a, b);
        assert_eq!(
            m(
                datetime!(2025-03-12 10:00 UTC),
                datetime!(2025-03-14 10:00 UTC)
            ),
            [datetime!(2025-03-01 0:00 UTC)]
        );
        assert_eq!(
            m(
                datetime!(2024-12-30 10:00 UTC),
                datetime!(2025-01-01 10:00 UTC)
            ),
            [
                datetime!(2024-12-01 0:00 UTC),
                datetime!(2025-01-01 0:00 UTC)
            ]
        );
        assert_eq!(
            m(
                datetime!(2025-01-31 23:00 UTC),
                datetime!(2025-03-01 00:00 UTC)
            )
            .len(),
            3
        );
        assert!(
            m(
                datetime!(2025-03-02 0:00 UTC),
                datetime!(2025-02-28 0:00 UTC)
            )
            .is_empty()
        );
    }
}
