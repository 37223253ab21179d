//! Live sessions (`LiveSessions`, every 5 minutes): each host's `getActiveSessions` kept in table
//! `livesessions`, and `session.unrecordable` announced by the instance that inserts the row of a
//! session on a host whose recording is off, or through the native client (no user name).
//! `StartTimeRaw` keeps the service's text (its documented example is not RFC 3339). A host that
//! could not be read keeps its rows and gets the finding `check-failed:live-sessions`.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::rows::{LIVE_TABLE, host_key, mark, of_host};
use super::unaudited;
use crate::arm::resource_name;
use crate::arm::{ActiveSession, BastionHost, ResourceManager};
use crate::azure::AzureError;
use crate::dates::format_utc_millis;
use crate::ports::Ports;
use crate::spine::kinds::SESSION_UNRECORDABLE;
use crate::spine::{Finding, Severity};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, update_from};
use crate::tables::{Entity, Filter, Stored, TableStore, get_str};

/// The timer function.
pub const FUNCTION: &str = "LiveSessions";
/// How long one `LiveSessions` run may call Resource Manager (it fires every 5 minutes).
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(240);
/// The estate finding of a host whose live sessions could not be read.
pub const CHECK_FAILED: &str = "check-failed:live-sessions";

/// Why a live session cannot be recorded, if it cannot.
pub fn unrecordable(host: &BastionHost, s: &ActiveSession) -> Option<&'static str> {
    let p = &host.properties;
    if !p.enable_session_recording {
        return Some("session recording is off on this host");
    }
    let no_user = s.user_name.as_deref().is_none_or(|u| u.trim().is_empty());
    (p.enable_tunneling && no_user)
        .then_some("native-client session (tunneling on, no user name): never recorded")
}

/// What one tick did.
#[derive(Debug, Default)]
pub struct Report {
    /// Sessions live now, over all hosts.
    pub live: usize,
    /// Announcements.
    pub findings: Vec<Finding>,
    /// Hosts that could not be read or stored (`host: why`).
    pub failed: Vec<String>,
    /// Every host read and stored, none with a session live or a row whose audit decision is
    /// still to make, none with its finding open: the next tick need read nothing back for a
    /// host that answers no session.
    pub quiet: bool,
}

/// One tick of `host`: its live sessions, and those older than `unaudited_wait` matched against
/// the audit logs ([`super::unaudited`]). `quiet`: the host's last tick left nothing to read back
/// ([`Report::quiet`]), so a host answering no session costs no table call.
pub async fn tick(
    ports: &Ports,
    arm: &dyn ResourceManager,
    host: &str,
    unaudited_wait: time::Duration,
    now: OffsetDateTime,
    quiet: bool,
) -> Report {
    let result = watch(ports, arm, host, unaudited_wait, now, quiet).await;
    let mut report = Report {
        quiet: true,
        ..Report::default()
    };
    let failed = result.as_ref().err().map(|e| {
        let (level, evidence) = super::findings::failure("live-sessions", e, Some(now));
        let code = CHECK_FAILED.to_owned();
        super::findings::Finding {
            code,
            level,
            evidence,
        }
    });
    let skipped = matches!(result, Ok(Ok(Watch { skipped: true, .. })));
    // A host whose rows could not be stored keeps its finding as it was; a quiet host read had no
    // finding open.
    if !matches!(result, Ok(Err(_))) && !skipped {
        let tables = ports.tables.as_ref();
        match super::store::apply_one(tables, host, CHECK_FAILED, failed, now).await {
            Ok(mut n) => report.findings.append(&mut n),
            Err(e) => {
                report.quiet = false;
                tracing::warn!(error = %e, "live-session finding not stored");
            }
        }
    }
    match result.and_then(|stored| stored) {
        Ok(mut w) => {
            report.live += w.live;
            report.quiet &= w.quiet;
            report.findings.append(&mut w.findings);
        }
        Err(e) => {
            report.quiet = false;
            report.failed.push(format!("{}: {e}", resource_name(host)));
        }
    }
    report
}

/// One host read and stored.
struct Watch {
    live: usize,
    findings: Vec<Finding>,
    /// The host's rows need nothing more (none live, each one's audit decided).
    quiet: bool,
    /// Nothing was read from the tables: the host was quiet and answered no session.
    skipped: bool,
}

/// One host's watch: `Err` when Resource Manager could not be read (the host's finding), else
/// what it stored, or the table error that stopped storing it.
async fn watch(
    ports: &Ports,
    arm: &dyn ResourceManager,
    host: &str,
    unaudited_wait: time::Duration,
    now: OffsetDateTime,
    quiet: bool,
) -> Result<Result<Watch, AzureError>, AzureError> {
    let (h, sessions) = tokio::join!(arm.bastion_host(host), arm.active_sessions(host));
    let (h, sessions) = (h?, sessions?);
    if quiet && sessions.is_empty() {
        let (live, findings) = (0, Vec::new());
        return Ok(Ok(Watch {
            live,
            findings,
            quiet,
            skipped: true,
        }));
    }
    let tables = ports.tables.as_ref();
    let stored = async {
        let rows = of_host(tables, host).await?;
        let quiet = sessions.is_empty() && rows.iter().all(|r| !unaudited::undecided(&r.entity));
        let (mut n, wrote) = record_over(tables, host, &h, &sessions, &rows, now).await?;
        n.append(&mut if wrote {
            audit(tables, host, unaudited_wait, now).await?
        } else {
            audit_of(tables, &rows, unaudited_wait, now).await?
        });
        Ok(Watch {
            live: sessions.len(),
            findings: n,
            quiet,
            skipped: false,
        })
    };
    Ok(stored.await)
}

/// Stores one host's live sessions over its rows as read (`stored`), ends the vanished ones,
/// announces the unrecordable it inserted: its announcements, and whether it wrote.
pub(super) async fn record_over(
    tables: &dyn TableStore,
    host: &str,
    h: &BastionHost,
    sessions: &[ActiveSession],
    stored: &[Stored],
    now: OffsetDateTime,
) -> Result<(Vec<Finding>, bool), AzureError> {
    let pk = host_key(host);
    let at = format_utc_millis(now);
    let mut out = Vec::new();
    let mut wrote = false;
    for s in sessions.iter().filter(|s| !s.session_id.is_empty()) {
        let rk = session_key(&s.session_id);
        let why = unrecordable(h, s);
        let current = stored
            .iter()
            .find(|r| get_str(&r.entity, "RowKey") == Some(rk.as_str()));
        let mut inserted = false;
        update_from(tables, LIVE_TABLE, &pk, &rk, current.cloned(), &mut |cur| {
            inserted = cur.is_none()
                || cur.is_some_and(|c| get_str(&c.entity, "FirstSeen") == Some(at.as_str()));
            Some(row(cur, host, s, why, &at))
        })
        .await?;
        wrote = true;
        if inserted && let Some(why) = why {
            out.push(announce(host, s, why, &at));
        }
    }
    for r in stored
        .iter()
        .filter(|r| get_str(&r.entity, "Status") == Some("live"))
    {
        let id = get_str(&r.entity, "SessionId").unwrap_or_default();
        if sessions.iter().any(|s| s.session_id == id) {
            continue;
        }
        let live = |e: &Entity| get_str(e, "Status") == Some("live");
        mark(tables, LIVE_TABLE, r, &live, ("Status", "ended".into())).await?;
        wrote = true;
    }
    Ok((out, wrote))
}

/// Writes once the audit decision of each of `host`'s rows whose wait has passed at `now`
/// ([`unaudited::decide`]); `session.unaudited` for each one no audit log shows that this call
/// decided.
///
/// # Errors
/// Table errors.
pub(super) async fn audit(
    tables: &dyn TableStore,
    host: &str,
    wait: time::Duration,
    now: OffsetDateTime,
) -> Result<Vec<Finding>, AzureError> {
    let rows = of_host(tables, host).await?;
    audit_of(tables, &rows, wait, now).await
}

/// [`audit`] over a host's rows as read.
async fn audit_of(
    tables: &dyn TableStore,
    rows: &[Stored],
    wait: time::Duration,
    now: OffsetDateTime,
) -> Result<Vec<Finding>, AzureError> {
    let mut out = Vec::new();
    for (r, decision) in unaudited::decide(tables, rows, wait, now).await? {
        let audit = ("Audit", Value::from(decision.as_str()));
        let won = mark(tables, LIVE_TABLE, r, &unaudited::undecided, audit).await?;
        if won && decision == unaudited::MISSING {
            out.push(unaudited::finding(&r.entity, wait));
        }
    }
    Ok(out)
}

fn row(cur: Option<&Stored>, host: &str, s: &ActiveSession, why: Option<&str>, at: &str) -> Entity {
    let first = cur
        .and_then(|c| get_str(&c.entity, "FirstSeen"))
        .unwrap_or(at);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let start = s.started().map(format_utc_millis).unwrap_or_default();
    let e = json!({
        "Host": host, "HostName": resource_name(host), "SessionId": s.session_id,
        "UserName": text(&s.user_name), "TargetHost": text(&s.target_host_name),
        "TargetIp": text(&s.target_ip_address), "TargetResourceId": text(&s.target_resource_id),
        "ResourceType": text(&s.resource_type), "Protocol": text(&s.protocol),
        "StartTime": start, "StartTimeRaw": text(&s.start_time),
        "DurationMins": s.session_duration_in_mins.unwrap_or(0.0),
        "FirstSeen": first, "LastSeen": at, "Status": "live", "Unrecordable": why.unwrap_or_default(),
    });
    let mut e = crate::tables::entity(e);
    // The audit decision (`unaudited`) and the enforcement's claim outlive the refresh: each is
    // made once.
    for once in ["Audit", ENFORCED] {
        if let Some(v) = cur.and_then(|c| c.entity.get(once)) {
            e.insert(once.into(), v.clone());
        }
    }
    e
}

/// The live-session row's mark of a disconnect the product decided (who and why, once).
pub const ENFORCED: &str = "Enforced";

/// Marks live-session row `r` as disconnected by the product with `why`, unless it is marked
/// already (ETag-conditional): `true` when this call marked it, so one caller disconnects.
///
/// # Errors
/// Table errors.
pub async fn claim_enforcement(
    tables: &dyn TableStore,
    r: &Stored,
    why: &str,
) -> Result<bool, AzureError> {
    let open = |e: &Entity| get_str(e, ENFORCED).is_none_or(str::is_empty);
    mark(tables, LIVE_TABLE, r, &open, (ENFORCED, why.into())).await
}

fn announce(host: &str, s: &ActiveSession, why: &str, at: &str) -> Finding {
    let key = format!("{}|{}", host.to_ascii_lowercase(), s.session_id);
    let evidence = json!({
            "bastionHost": resource_name(host), "bastionHostId": host, "sessionId": s.session_id,
            "userName": s.user_name, "targetVm": s.target_host_name, "targetIp": s.target_ip_address,
            "protocol": s.protocol,
            "startTime": s.started().map(format_utc_millis).or_else(|| s.start_time.clone()),
            "reason": why,
    });
    let f = Finding::new(&SESSION_UNRECORDABLE, key, at, Severity::Critical, evidence);
    f.word("host", resource_name(host))
}

/// One live (or recently ended) session as the API shows it.
pub fn json_of(e: &Entity) -> Value {
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    json!({
        "sessionId": s("SessionId"), "host": s("Host"), "hostName": s("HostName"),
        "user": s("UserName"), "targetHost": s("TargetHost"), "targetIp": s("TargetIp"),
        "targetResourceId": s("TargetResourceId"), "protocol": s("Protocol"),
        "start": s("StartTime"), "durationMinutes": e.get("DurationMins").cloned().unwrap_or(Value::Null),
        "firstSeen": s("FirstSeen"), "lastSeen": s("LastSeen"), "status": s("Status"),
        "unrecordable": s("Unrecordable"),
    })
}

/// The sessions live now (every host), oldest first.
///
/// # Errors
/// Table errors.
pub async fn live_now(tables: &dyn TableStore) -> Result<Vec<Entity>, AzureError> {
    let f = Filter::str("Status", crate::tables::filter::Op::Eq, "live");
    let mut rows: Vec<Entity> = query_all(tables, LIVE_TABLE, &f, 5000)
        .await?
        .into_iter()
        .map(|s| s.entity)
        .collect();
    rows.sort_by(|a, b| get_str(a, "StartTime").cmp(&get_str(b, "StartTime")));
    Ok(rows)
}

/// The row key of live session `id` (Resource Manager's session id).
pub fn session_key(id: &str) -> String {
    key(id, Spelling::Encoded, MAX_KEY_BYTES)
}

/// The VMs this host's RDP sessions reached since `since` (UTC ms text), newest first, once each.
///
/// # Errors
/// Table errors.
pub async fn rdp_targets(
    tables: &dyn TableStore,
    host: &str,
    since: &str,
) -> Result<Vec<String>, AzureError> {
    let mut rows: Vec<Entity> = of_host(tables, host)
        .await?
        .into_iter()
        .map(|s| s.entity)
        .filter(|e| {
            get_str(e, "Protocol").is_some_and(|p| p.trim().eq_ignore_ascii_case("RDP"))
                && get_str(e, "LastSeen").is_some_and(|t| t >= since)
        })
        .collect();
    rows.sort_by(|a, b| get_str(b, "LastSeen").cmp(&get_str(a, "LastSeen")));
    let mut out: Vec<String> = Vec::new();
    for e in &rows {
        let id = get_str(e, "TargetResourceId").unwrap_or_default().trim();
        let vm = id
            .to_ascii_lowercase()
            .contains("/providers/microsoft.compute/virtualmachines/")
            && crate::arm::id_parts(id).is_some();
        if vm && !out.iter().any(|o| o.eq_ignore_ascii_case(id)) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

/// The live session `id` (any host), if stored.
///
/// # Errors
/// Table errors.
pub async fn find(tables: &dyn TableStore, id: &str) -> Result<Option<Entity>, AzureError> {
    let f = Filter::str("RowKey", crate::tables::filter::Op::Eq, session_key(id));
    Ok(query_all(tables, LIVE_TABLE, &f, 10)
        .await?
        .into_iter()
        .map(|s| s.entity)
        .next())
}
