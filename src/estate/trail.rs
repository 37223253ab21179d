//! Whether a host's audit logs arrive, from the rows the app already writes (never from its
//! diagnostic settings alone): the latest audit record of each host seen — the latest start or
//! end of its sessions' day rows (`sessionwindows`, written by the tail and the workspace query
//! from the records they read) — and what shows the host was used meanwhile: a session Bastion
//! reported live (`livesessions`) or a recording it wrote (`recordings`), old enough for its
//! audit records to have arrived (`RECORDING_SESSION_WAIT_MINUTES`, as `session.unaudited`).

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::rows::of_host;
use crate::azure::AzureError;
use crate::catalogue::days as day_rows;
use crate::catalogue::repo;
use crate::dates::{days, format_date, timestamp};
use crate::tables::{Filter, TableStore, get_str};

/// Rows one partition read takes at most.
const MAX_ROWS: usize = 5000;

/// The window the evidence is read over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `ESTATE_AUDIT_SILENCE_HOURS`: how long a used host may send no audit record.
    pub silence: Duration,
    /// `RECORDING_SESSION_WAIT_MINUTES`: how long a session's audit records may take to arrive.
    pub wait: Duration,
}

/// Something that shows a host was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// When.
    pub at: OffsetDateTime,
    /// What, for the evidence (`live session <id>`, `recording <id>`).
    pub what: String,
}

/// One host's audit trail over the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trail {
    /// The start of the window: records at or after it count.
    pub since: OffsetDateTime,
    /// The latest audit record of the host seen (`None`: none since a day before `since`).
    pub last_record: Option<OffsetDateTime>,
    /// The earliest use of the host in `[since, now - wait]`, if any.
    pub used: Option<Use>,
}

impl Trail {
    /// True when the host was used in the window and no audit record of it arrived since its start.
    pub fn silent(&self) -> bool {
        self.used.is_some() && self.last_record.is_none_or(|t| t < self.since)
    }
}

/// What one run reads once for every host: the latest audit record and the earliest recording
/// per host name (lower-case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    latest: BTreeMap<String, OffsetDateTime>,
    recordings: BTreeMap<String, Use>,
}

/// Reads the day rows and recordings of the window once (a day more of day rows: a session that
/// started the day before may have ended inside it).
///
/// # Errors
/// Table errors.
pub async fn seen(
    tables: &dyn TableStore,
    w: Window,
    now: OffsetDateTime,
) -> Result<Seen, AzureError> {
    let since = now - w.silence;
    let mut out = Seen::default();
    for day in days((since - Duration::days(1)).date(), now.date()).map(format_date) {
        for (r, _) in day_rows::query(tables, &Filter::partition(&day), MAX_ROWS).await? {
            let at = r.end.map_or(r.start, |e| e.max(r.start));
            let latest = out.latest.entry(r.host.to_ascii_lowercase()).or_insert(at);
            *latest = (*latest).max(at);
        }
    }
    let used_by = now - w.wait;
    for day in days(since.date(), used_by.date()).map(format_date) {
        for r in repo::recordings(tables, &Filter::partition(&day), MAX_ROWS).await? {
            let at = r.blob_created;
            if at < since || at > used_by || r.bastion().is_empty() {
                continue;
            }
            let first = Use {
                at,
                what: format!("recording {}", r.key.id()),
            };
            let e = out
                .recordings
                .entry(r.bastion().to_ascii_lowercase())
                .or_insert_with(|| first.clone());
            if at < e.at {
                *e = first;
            }
        }
    }
    Ok(out)
}

/// Host `host`'s trail: `seen`'s records and recordings, and its live sessions of the window.
///
/// # Errors
/// Table errors.
pub async fn trail(
    tables: &dyn TableStore,
    seen: &Seen,
    host: &str,
    w: Window,
    now: OffsetDateTime,
) -> Result<Trail, AzureError> {
    let since = now - w.silence;
    let used_by = now - w.wait;
    let name = crate::arm::resource_name(host).to_ascii_lowercase();
    let live = of_host(tables, host).await?;
    let sessions = live.iter().filter_map(|r| {
        let e = &r.entity;
        let at = get_str(e, "StartTime")
            .and_then(timestamp)
            .or_else(|| get_str(e, "FirstSeen").and_then(timestamp))?;
        let id = get_str(e, "SessionId").unwrap_or_default();
        (since <= at && at <= used_by).then(|| Use {
            at,
            what: format!("live session {id}"),
        })
    });
    let used = sessions
        .chain(seen.recordings.get(&name).cloned())
        .min_by_key(|u| u.at);
    Ok(Trail {
        since,
        last_record: seen.latest.get(&name).copied(),
        used,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn silent_only_when_used_and_no_record_since_the_window_began() {
        let since = datetime!(2026-11-24 12:00 UTC);
        let used = Some(Use {
            at: since + Duration::hours(3),
            what: "live session s1".into(),
        });
        let t = |last_record, used: Option<Use>| Trail {
            since,
            last_record,
            used,
        };
        assert!(t(None, used.clone()).silent(), "used, never a record");
        assert!(t(Some(since - Duration::hours(1)), used.clone()).silent());
        assert!(
            !t(Some(since), used.clone()).silent(),
            "a record at the start"
        );
        assert!(!t(None, None).silent(), "unused: silence says nothing");
    }
}
