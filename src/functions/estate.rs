//! `EstateCheck` and `LiveSessions` (timers): the Bastion hosts through Resource Manager, each
//! planning one work unit per host (and `EstateCheck` one for what spans hosts) that `WorkUnit`
//! does.

use super::binding::now_of;
use crate::authorization;
use crate::estate::{bypass, check, disconnect, live};
use crate::fanout::store;
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::state::AppState;

pub use crate::estate::FUNCTION as ESTATE_CHECK;
pub use crate::estate::live::FUNCTION as LIVE_SESSIONS;

/// The `EstateCheck` unit of what spans hosts: the other doors, who allowed each session, the
/// waiting writes judged again and the findings' Sentinel rows ([`estate_unit`]).
pub const ACROSS_HOSTS: &str = "doors-and-settling";

/// `EstateCheck`: plans one unit per configured host and one [`ACROSS_HOSTS`] ([`estate_unit`] on
/// the work queue).
///
/// # Errors
/// `Retryable` when the plan cannot be recorded.
pub async fn estate_check(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let hosts = &state.config.estate.hosts;
    if state.arm.is_none() || hosts.is_empty() {
        return Ok(Outcome::skipped(
            "no Bastion host configured (BASTION_HOSTS): the estate checks are off",
        ));
    }
    let now = now_of(&state, &inv);
    let mut units = hosts.clone();
    units.push(ACROSS_HOSTS.to_owned());
    super::plan::planned(&state, ESTATE_CHECK, &units, now, Vec::new()).await
}

/// One `EstateCheck` unit at `now`: a configured host's check (its findings, its identities
/// closed where it no longer records), or [`ACROSS_HOSTS`].
///
/// # Errors
/// `Retryable` when a host's findings could not be stored; `Poison` for a host no longer
/// configured.
pub async fn estate_unit(
    state: &AppState,
    unit: &str,
    now: time::OffsetDateTime,
) -> Result<Outcome, Failure> {
    let arm = bounded_arm(state, check::BUDGET)?;
    let mut read: Vec<String> = (state.config.workspaces.query.workspaces.iter())
        .map(|w| w.id.clone())
        .collect();
    let custody = state.config.custody.workspace.as_deref();
    let sinks = check::sinks(&state.ports, &read, custody);
    if unit == ACROSS_HOSTS {
        read.extend(state.config.custody.workspace.iter().cloned());
        read.sort();
        read.dedup();
        return Ok(across_hosts(state, &arm, &read, now).await);
    }
    let settings = &state.config.estate;
    if !settings.hosts.iter().any(|h| h == unit) {
        return Err(Failure::poison(format!("host {unit} is not configured")));
    }
    let window = crate::estate::trail::Window {
        silence: settings.audit_silence,
        wait: state.config.audit.session_wait,
    };
    let shared = state.estate_reads.of(now);
    let report = check::host(
        &state.ports,
        (arm.as_ref(), &shared),
        settings,
        unit,
        &sinks,
        window,
        now,
    );
    let report = report.await;
    if let Some(f) = report.failed.first() {
        return Err(Failure::storage(anyhow::anyhow!(
            "the host's findings could not be stored: {f}"
        )));
    }
    let (open, changed) = (report.open, report.findings.len());
    let summary = format!("{open} finding(s) open, {changed} opened or cleared");
    Ok(crate::spine::send(
        Outcome::processed(summary),
        report.findings,
    ))
}

/// How many host units of `period` have not ended (queued, running, or retried by the queue):
/// their Bastion subnets are not kept yet, so the [`ACROSS_HOSTS`] unit of the period, run now,
/// would read those hosts again. The timer's rows ([`store::ledger`]): a host planned this period
/// and pending.
///
/// # Errors
/// Table errors.
pub(super) async fn hosts_pending(
    state: &AppState,
    period: &str,
) -> Result<usize, crate::azure::AzureError> {
    let ledger = store::ledger(state.ports.tables.as_ref(), ESTATE_CHECK).await?;
    let now = state.ports.clock.now();
    let marks = (ledger.plan_of(period))
        .map(store::marks)
        .unwrap_or_default();
    let of_period = |h: &str| {
        let row = ledger.units.get(h).map(|r| &r.entity);
        let reached = row.and_then(|e| crate::tables::get_str(e, "Period"));
        reached == Some(period) || reached < Some(period) && marks.contains(store::mark(h).as_str())
    };
    Ok((state.config.estate.hosts.iter())
        .filter(|h| of_period(h) && ledger.is_pending(h, now))
        .count())
}

/// The Resource Manager client a unit calls within `budget`.
fn bounded_arm(
    state: &AppState,
    budget: std::time::Duration,
) -> Result<std::sync::Arc<dyn crate::arm::ResourceManager>, Failure> {
    let arm = state
        .arm
        .as_ref()
        .ok_or_else(|| Failure::poison("no Resource Manager client: BASTION_HOSTS unset"))?;
    Ok(crate::arm::bounded(arm, std::time::Instant::now() + budget))
}

/// The [`ACROSS_HOSTS`] unit: the other doors onto the watched VMs (the Activity log in the
/// workspaces `read`, none read: those doors are off, and the network through Resource Manager),
/// who allowed each session, then [`check::settle`].
async fn across_hosts(
    state: &AppState,
    arm: &std::sync::Arc<dyn crate::arm::ResourceManager>,
    read: &[String],
    now: time::OffsetDateTime,
) -> Outcome {
    let logs = state.logs.as_deref();
    let config = &state.config.estate;
    let doors = bypass::run(&state.ports, logs, Some(arm), config, read, now).await;
    let mut authz = authorization_pass(state, arm, &doors, read, now).await;
    let mut found = std::mem::take(&mut authz.found);
    found.extend(doors.findings.iter().cloned());
    for f in &doors.failed {
        tracing::warn!(error = %f, "other doors not all decided; the next check retries");
    }
    if let Some(e) = check::settle(&state.ports, now).await {
        tracing::warn!(error = %e, "estate findings' Sentinel rows not all recorded; the next check records them");
    }
    let summary = format!(
        "other doors: {} VM(s), {} finding(s) open; authorization: {} session(s) decided, {} changed",
        doors.vms,
        doors.open,
        authz.decided.len(),
        authz.changed
    );
    crate::spine::send(Outcome::processed(summary), found)
}

/// Who allowed each session: PIM's schedules, `AuditLogs` of the workspaces read, and the
/// just-in-time requests and the VMs' virtual networks the doors' pass found.
async fn authorization_pass(
    state: &AppState,
    arm: &std::sync::Arc<dyn crate::arm::ResourceManager>,
    doors: &bypass::Report,
    workspaces: &[String],
    now: time::OffsetDateTime,
) -> authorization::Report {
    let doors = authorization::read::Doors {
        unread: doors.activity_unread.clone(),
        events: doors.jit_events.clone(),
        bastion: doors.bastion.clone(),
        networks: authorization::decide::Networks {
            of: doors.vnets.clone(),
            unread: doors.vnets_unread.clone(),
        },
    };
    let sources = authorization::Sources {
        arm: Some(arm.as_ref()),
        logs: state.logs.as_deref(),
        workspaces,
        doors: &doors,
        groups: (state.config.authz.pim_groups)
            .then_some(state.directory.as_deref())
            .flatten(),
        signin_mfa: state.config.authz.signin_mfa,
    };
    let hosts = (state.config.estate.hosts.iter())
        .map(|h| crate::arm::resource_name(h).to_ascii_lowercase())
        .collect();
    let settings = &state.config.authz;
    let report = authorization::run(&state.ports, &sources, &hosts, settings, now).await;
    for f in &report.failed {
        tracing::warn!(error = %f, "authorization not all decided or stored; the next check retries");
    }
    report
}

/// `LiveSessions`: plans one unit per host ([`live_unit`] on the work queue) and announces the
/// disconnects the API requested.
///
/// # Errors
/// `Retryable` when the plan cannot be recorded.
pub async fn live_sessions(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let hosts = &state.config.estate.hosts;
    if state.arm.is_none() || hosts.is_empty() {
        return Ok(Outcome::skipped(
            "no Bastion host configured (BASTION_HOSTS)",
        ));
    }
    let now = now_of(&state, &inv);
    let announced = disconnect::announce(state.ports.tables.as_ref(), &state.ports.outbox, now);
    let announced = announced.await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "disconnects not announced; the next tick retries");
        Vec::new()
    });
    super::plan::planned(&state, LIVE_SESSIONS, hosts, now, announced).await
}

/// One `LiveSessions` unit: the sessions `host` reports at `now`, the notifications they call for
/// (a host that cannot be read gets its finding; the unit fails, so the queue retries it, unless
/// it holds that finding's announcement), and whether this run left nothing to read back.
/// `quiet`: its last run left nothing to read back (`live::Report::quiet`), so a host answering
/// no session costs no table call.
///
/// # Errors
/// `Retryable` when the host could not be read or stored.
pub async fn live_unit(
    state: &AppState,
    host: &str,
    now: time::OffsetDateTime,
    quiet: bool,
) -> Result<(Outcome, bool), Failure> {
    let arm = bounded_arm(state, live::BUDGET)?;
    let wait = state.config.audit.session_wait;
    let mut report = live::tick(&state.ports, arm.as_ref(), host, wait, now, quiet).await;
    let authz = &state.config.authz;
    // Enforcement disconnects live sessions: a quiet host has none.
    if authz.enforce == authorization::settings::Enforce::Disconnect && !report.quiet {
        let sessions = crate::state::LiveSessions(&state.ports, arm.as_ref());
        let enforced = authorization::enforce::run(&sessions, arm.as_ref(), host, authz, now);
        let enforced = enforced.await;
        for f in &enforced.failed {
            tracing::warn!(error = %f, "authorization not enforced; the next tick retries");
        }
        // Announced now (the API's are announced by the next tick's plan).
        if !enforced.disconnected.is_empty() {
            let tables = state.ports.tables.as_ref();
            match disconnect::announce(tables, &state.ports.outbox, now).await {
                Ok(mut n) => report.findings.append(&mut n),
                Err(e) => {
                    tracing::warn!(error = %e, "disconnects not announced; the next tick retries")
                }
            }
        }
    }
    // A 500 drops outputs: a unit holding the announcement of its host's finding delivers it.
    if !report.failed.is_empty() && report.findings.is_empty() {
        return Err(Failure::storage(anyhow::anyhow!(
            "live sessions not read: {}",
            report.failed.join("; ")
        )));
    }
    let summary = format!(
        "{} live session(s){}",
        report.live,
        if report.failed.is_empty() {
            ""
        } else {
            ", not read (its finding announced)"
        }
    );
    Ok((
        crate::spine::send(Outcome::processed(summary), report.findings),
        report.quiet,
    ))
}
