//! `AuditLogCreated` (Event Grid: a new `PT1H.json`), `AuditLogTail` (timer: what was appended) and
//! `AuditLogQuery` (timer: the same from Log Analytics workspaces).

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;

use super::binding::decode_event;
use crate::audit_logs::created;
use crate::audit_logs::detect::unchecked;
use crate::audit_logs::path::{Host, hosts};
use crate::audit_logs::query::{self, QueryReport};
use crate::audit_logs::repo::CursorRepo;
use crate::audit_logs::tail::{self, TickReport};
use crate::clock::Budget;
use crate::invocation::Failure;
use crate::invocation::{Invocation, Outcome};
use crate::join::tick::after_reads;
use crate::state::AppState;

pub use crate::audit_logs::function_names::{
    CREATED_FUNCTION as AUDIT_LOG_CREATED, TAIL_FUNCTION as AUDIT_LOG_TAIL,
};
pub use crate::audit_logs::query::FUNCTION as AUDIT_LOG_QUERY;

/// `AuditLogCreated`: registers the hour blob's cursor and reads what is already there.
///
/// # Errors
/// `Poison` for a malformed event, `Retryable` for storage failures.
pub async fn audit_log_created(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let event = match decode_event(&inv)? {
        Ok(event) => event,
        Err(skipped) => return Ok(skipped),
    };
    let tailer = crate::state::tailer(&state);
    let now = super::binding::now_of(&state, &inv);
    Ok(match created::on_created(&tailer, &event, now).await? {
        Ok(report) => tail_outcome(report),
        Err(why) => Outcome::skipped(why),
    })
}

/// `AuditLogTail`: plans one unit per Bastion host with active cursors whose listing shows work
/// ([`tail::unchanged`]: a quiet host is not planned, counted unchanged; [`tail_unit`]: its
/// reads), each carrying the lengths its cursors were read to and the planner's listing of it
/// ([`tail::known`]: the unit lists a host only when the planner did not), and one that joins
/// and detects over every host ([`tail::JOINED`]).
///
/// # Errors
/// `Retryable` when the cursors cannot be read or the plan cannot be recorded.
pub async fn audit_log_tail(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let now = super::binding::now_of(&state, &inv);
    let window = state.audit.tail_look_back;
    let looked = async {
        let started = std::time::Instant::now();
        let repo = CursorRepo::new(state.ports.tables.clone());
        let cursors = repo
            .active(now, window, None)
            .await
            .map_err(Failure::storage)?;
        let cursors_ms = started.elapsed().as_millis();
        let hosts = hosts(cursors);
        let looked = tail::unchanged(&crate::state::tailer(&state), &hosts, now).await;
        let listed_ms = started.elapsed().as_millis() - cursors_ms;
        tracing::info!(
            cursors_ms,
            listed_ms,
            "the hosts' cursors read and listings looked at"
        );
        Ok::<_, Failure>((hosts, looked))
    };
    // The work rows are read while the cursors are read and the hosts listed.
    let ((hosts, (quiet, lists)), ledger) =
        futures::try_join!(looked, super::plan::ledger(&state, AUDIT_LOG_TAIL))?;
    let listed = quiet.len() + lists.len();
    let known: BTreeMap<String, String> = (hosts.iter())
        .filter(|h| !quiet.contains(&h.unit()))
        .map(|h| {
            let list = lists.get(&h.unit()).map(Vec::as_slice);
            (h.unit(), tail::known::of(h, now, window, list))
        })
        .collect();
    let mut units: Vec<String> = known.keys().cloned().collect();
    units.push(tail::JOINED.to_owned());
    let knowing = |u: &str| known.get(u).cloned().unwrap_or_default();
    let (all, unchanged) = (hosts.len(), quiet.len());
    let note = format!("listed {listed} of {all} hosts: {unchanged} unchanged, not planned");
    let units = (units.as_slice(), unchanged);
    let timer = (AUDIT_LOG_TAIL, ledger);
    super::plan::planned_knowing(&state, timer, units, now, knowing, &note).await
}

/// One `AuditLogTail` unit at `now`: a host's listing and reads (`known`: what its planner knew of
/// its cursors), or the detections and the join (`joined`).
///
/// # Errors
/// `Retryable` when the host's listing failed, or every blob of it that grew failed (its cursors
/// keep their progress, the queue delivers it again); `Poison` for a name that is no host.
pub async fn tail_unit(
    state: &AppState,
    unit: &str,
    known: &str,
    now: OffsetDateTime,
) -> Result<Outcome, Failure> {
    if unit == tail::JOINED {
        let time = Budget::after(state.ports.clock.clone(), state.audit.tail_budget);
        let mut report = TickReport::default();
        joined(state, now, &time, &mut report).await;
        return Ok(tail_outcome(report));
    }
    if Host::parse_unit(unit).is_none() {
        return Err(Failure::poison(format!("{unit} names no audit-log host")));
    }
    let report = tail::host(&crate::state::tailer(state), unit, known, now).await?;
    if report.hosts_failed > 0 || (report.failed > 0 && report.failed == report.blobs) {
        return Err(Failure::storage(anyhow::anyhow!(
            "audit-log host {unit}: its listing or all {} of its grown blobs failed this tick",
            report.failed
        )));
    }
    Ok(tail_outcome(report))
}

/// `AuditLogQuery`: plans one unit per configured workspace ([`query_unit`] on the work queue;
/// none configured: nothing to do).
///
/// # Errors
/// `Retryable` when the plan cannot be recorded.
pub async fn audit_log_query(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    if crate::state::workspace_query(&state).is_none() {
        return Ok(Outcome::skipped(
            "no Log Analytics workspace configured (AUDITLOGS_WORKSPACES)",
        ));
    }
    let workspaces = &state.config.workspaces.query.workspaces;
    let ids: Vec<String> = workspaces.iter().map(|w| w.id.clone()).collect();
    let now = super::binding::now_of(&state, &inv);
    super::plan::planned(&state, AUDIT_LOG_QUERY, &ids, now, Vec::new()).await
}

/// One `AuditLogQuery` unit: workspace `id` read from its cursor at `now`, then the join and the
/// detections.
///
/// # Errors
/// `Retryable` when the workspace failed and nothing is to be delivered; `Poison` for a workspace
/// no longer configured.
pub async fn query_unit(
    state: &AppState,
    id: &str,
    now: OffsetDateTime,
) -> Result<Outcome, Failure> {
    let time = Budget::after(state.ports.clock.clone(), state.audit.tail_budget);
    let mut q = crate::state::workspace_query(state)
        .ok_or_else(|| Failure::poison("no Log Analytics workspace configured"))?;
    let mut settings = (*q.settings).clone();
    settings.workspaces.retain(|w| w.id == id);
    if settings.workspaces.is_empty() {
        return Err(Failure::poison(format!("workspace {id} is not configured")));
    }
    q.settings = Arc::new(settings);
    let mut report = query::tick(&q, now).await?;
    joined(state, now, &time, &mut report.joined).await;
    if report.failed > 0 && report.joined.findings.is_empty() {
        return Err(Failure::storage(anyhow::anyhow!(
            "workspace {id} failed this tick (see /api/health)"
        )));
    }
    Ok(query_outcome(report))
}

/// The step over every host once the reads are kept: the failed-login burst checks still
/// unchecked, then the join's part within what is left of `time` ([`after_reads`]).
async fn joined(state: &AppState, now: OffsetDateTime, time: &Budget, report: &mut TickReport) {
    let (a, ports) = (&state.audit, &state.ports);
    report.findings.extend(unchecked::bursts(ports, a).await);
    let waits = (a.unrecorded_grace, a.session_max.max(a.open_session_max));
    let join = crate::state::join(state);
    let j = after_reads(&join, now, time, a.tail_look_back, waits).await;
    report.joined += j.rewritten;
    report.cut |= j.cut;
    report.join_failed |= j.failed;
    report.findings.extend(j.findings);
}

/// A tick's ending: its line and its findings.
fn tail_outcome(report: TickReport) -> Outcome {
    let summary = format!(
        "tailed {} blobs ({} failed): {} bytes, {} records, {} corrupt, {} sessions changed, {} recordings joined{}, {} notifications{}; listed {} hosts ({} failed): {} grown, {} registered, {} left",
        report.blobs,
        report.failed,
        report.bytes,
        report.records,
        report.corrupt,
        report.sessions,
        report.joined,
        if report.join_failed {
            " (the join failed: retried next tick)"
        } else {
            ""
        },
        report.findings.len(),
        if report.cut {
            "; budget spent, the rest continues next tick"
        } else {
            ""
        },
        report.hosts,
        report.hosts_failed,
        report.grown,
        report.registered,
        report.left,
    );
    crate::spine::send(Outcome::processed(summary), report.findings)
}

/// A workspace tick's ending: its line and its findings.
fn query_outcome(report: QueryReport) -> Outcome {
    let s = report.joined;
    let summary = format!(
        "queried {} workspaces ({} failed): {} queries, {} rows stored, {} sessions changed, {} recordings joined, {} notifications{}",
        report.workspaces,
        report.failed,
        report.queries,
        report.stored,
        s.sessions,
        s.joined,
        s.findings.len(),
        if s.cut {
            "; time budget spent, the rest continues next tick"
        } else {
            ""
        }
    );
    crate::spine::send(Outcome::processed(summary), s.findings)
}
