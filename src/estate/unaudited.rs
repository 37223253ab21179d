//! `session.unaudited`: a session Bastion reported live that the audit logs still do not show
//! `RECORDING_SESSION_WAIT_MINUTES` after its start (a gap in the audit trail). It is audited when
//! `sessions` has its id as a tunnel id, or `sessionwindows` a session on the same host and VM
//! within [`START_TOLERANCE`] (same user when both name one). Each row's `Audit` is written once
//! (`tunnel:<id>`, `missing`, or `unknown` for an unreadable start); the instance writing it announces.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::catalogue::days::{self, DayRow};
use crate::catalogue::session;
use crate::dates::timestamp;
use crate::spine::kinds::SESSION_UNAUDITED;
use crate::spine::{Finding, Severity};
use crate::tables::{Entity, Stored, TableStore, get_str};

/// How far apart the live start and the audit log's start may be for a match by time.
pub const START_TOLERANCE: Duration = Duration::minutes(10);
/// Stored decision of a session no audit log showed.
pub const MISSING: &str = "missing";
/// Stored decision of a session whose start could not be read and whose id is no tunnel's.
const UNKNOWN: &str = "unknown: start time unreadable";

/// When the wait of a live-session row ends: its start (else first sight) plus `wait`.
pub fn wait_end(e: &Entity, wait: Duration) -> Option<OffsetDateTime> {
    let start = get_str(e, "StartTime")
        .and_then(timestamp)
        .or_else(|| get_str(e, "FirstSeen").and_then(timestamp))?;
    Some(start + wait)
}

/// True when audit-log session `w` is the live session `e` (same host, target, start and user).
pub fn same_session(e: &Entity, w: &DayRow) -> bool {
    let s = |k: &str| get_str(e, k).unwrap_or_default().trim();
    let Some(start) = get_str(e, "StartTime").and_then(timestamp) else {
        return false;
    };
    let vm = s("TargetHost");
    let target = s("TargetResourceId").to_ascii_lowercase();
    let vm_matches = (!vm.is_empty() && w.vm.eq_ignore_ascii_case(vm))
        || (!target.is_empty() && target.ends_with(&format!("/{}", w.vm.to_ascii_lowercase())));
    let (user, audit_user) = (s("UserName"), w.user_name.trim());
    w.host.eq_ignore_ascii_case(s("HostName"))
        && vm_matches
        && (w.start - start).abs() <= START_TOLERANCE
        && (user.is_empty() || audit_user.is_empty() || user.eq_ignore_ascii_case(audit_user))
}

/// The tunnel id of the audit-log session that is live session `e`, if the audit logs have it.
///
/// # Errors
/// Table errors.
pub async fn audited(tables: &dyn TableStore, e: &Entity) -> Result<Option<String>, AzureError> {
    let id = get_str(e, "SessionId").unwrap_or_default();
    // A session's key is its tunnel id as is (checked where the audit logs enter).
    if !id.is_empty() && session::row(tables, id).await?.is_some() {
        return Ok(Some(id.to_owned()));
    }
    Ok(audit_rows(tables, e)
        .await?
        .into_iter()
        .next()
        .map(|w| w.tunnel_id))
}

/// The audit-log sessions that may be live session `e`, from those that started within
/// [`START_TOLERANCE`] of its start: the one whose tunnel id is its id or its audit decision's,
/// else every one on the same host and VM ([`same_session`]). None when its start is unreadable.
///
/// # Errors
/// Table errors.
pub async fn audit_rows(tables: &dyn TableStore, e: &Entity) -> Result<Vec<DayRow>, AzureError> {
    let Some(start) = get_str(e, "StartTime").and_then(timestamp) else {
        return Ok(Vec::new());
    };
    let span = days::Span {
        from: start - START_TOLERANCE,
        until: start + START_TOLERANCE,
    };
    let rows = days::scan(tables, span, Vec::new()).await?;
    let decided = get_str(e, "Audit").and_then(|a| a.strip_prefix("tunnel:"));
    let ids = [get_str(e, "SessionId"), decided];
    let is_id = |w: &DayRow| {
        ids.iter()
            .flatten()
            .any(|i| !i.is_empty() && *i == w.tunnel_id)
    };
    if let Some(w) = rows.iter().find(|w| is_id(w)) {
        return Ok(vec![w.clone()]);
    }
    Ok(rows.into_iter().filter(|w| same_session(e, w)).collect())
}

/// The audit decision of each of `rows` (one host's live-session rows) not yet decided whose
/// wait has passed at `now`: the tunnel id that shows it, [`MISSING`], or unknown.
///
/// # Errors
/// Table errors.
pub async fn decide<'a>(
    tables: &dyn TableStore,
    rows: &'a [Stored],
    wait: Duration,
    now: OffsetDateTime,
) -> Result<Vec<(&'a Stored, String)>, AzureError> {
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| undecided(&r.entity)) {
        if wait_end(&r.entity, wait).is_none_or(|d| d > now) {
            continue;
        }
        let readable = get_str(&r.entity, "StartTime")
            .and_then(timestamp)
            .is_some();
        let decision = match audited(tables, &r.entity).await? {
            Some(t) => format!("tunnel:{t}"),
            None if readable => MISSING.to_owned(),
            None => UNKNOWN.to_owned(),
        };
        out.push((r, decision));
    }
    Ok(out)
}

/// True for a live-session row whose audit decision is still to make.
pub fn undecided(e: &Entity) -> bool {
    get_str(e, "Audit").is_none_or(str::is_empty)
}

/// `session.unaudited` of live-session row `e`, once its decision is [`MISSING`].
pub fn finding(e: &Entity, wait: Duration) -> Finding {
    let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
    let host = s("Host");
    let wait_end = wait_end(e, wait).map(crate::dates::format_utc_millis);
    let key = format!("{}|{}", host.to_ascii_lowercase(), s("SessionId"));
    // The notification's time is the end of the wait.
    let at = wait_end.unwrap_or_else(|| s("LastSeen"));
    let evidence = json!({
            "bastionHost": s("HostName"), "bastionHostId": host, "sessionId": s("SessionId"),
            "userName": s("UserName"), "targetVm": s("TargetHost"), "targetIp": s("TargetIp"),
            "protocol": s("Protocol"), "startTime": s("StartTime"),
            "reason": format!(
                "seen live, but no audit log shows it {} minutes after its start",
                wait.whole_minutes()
            ),
    });
    let f = Finding::new(&SESSION_UNAUDITED, key, at, Severity::Critical, evidence);
    f.word("host", s("HostName"))
}
