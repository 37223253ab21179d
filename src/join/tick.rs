//! The join's part of an `AuditLogTail` or `AuditLogQuery` tick, run by its entry point once the
//! reads are kept: the pass over the sessions that changed within the tail window and the
//! recordings that fell due, then the checks that read its result (recordings that stopped
//! growing, sessions still unrecorded, recordings the pass made suspect). Each failure is logged
//! and retried by a later tick.

use time::{Duration, OffsetDateTime};
use tracing::error;

use super::findings::{suspect, unrecorded};
use super::growing;
use super::pass::Scope;
use super::reads::{Join, horizon};
use crate::clock::Budget;
use crate::spine::Finding;
use crate::telemetry::redact;

/// What the join's part of a tick did.
#[derive(Debug, Default)]
pub struct Joined {
    /// Catalogue rows whose join changed (rewritten).
    pub rewritten: usize,
    /// Stopped by the budget with work left for the next tick.
    pub cut: bool,
    /// The pass failed (its sessions stay pending for the next tick).
    pub failed: bool,
    /// Findings to notify.
    pub findings: Vec<Finding>,
}

/// The pass within `time`, then the checks. `window`: the tail window (`AUDIT_TAIL_WINDOW_HOURS`);
/// `waits`: how long a session may stay unrecorded, and how long one may last.
pub async fn after_reads(
    join: &Join,
    now: OffsetDateTime,
    time: &Budget,
    window: Duration,
    waits: (Duration, Duration),
) -> Joined {
    let mut out = Joined::default();
    let scope = Scope {
        since: horizon(now, window),
        span: None,
    };
    match join.run(&scope, now, time).await {
        Ok(r) => (out.rewritten, out.cut) = (r.rewritten, r.cut),
        Err(e) => {
            out.failed = true;
            error!(error.cause_chain = %redact(&e.to_string()), "joining changed sessions failed; they stay pending for the next tick")
        }
    }
    // Recordings still being written are judged once they stop growing (due for the next pass):
    // looked at every fifth minute, so a quiet tick costs no query for them.
    if growing::looks_at(now)
        && let Err(e) = growing::run(join, now, window).await
    {
        error!(error.cause_chain = %redact(&e.to_string()), "following growing recordings failed; retried at the next look");
    }
    match unrecorded::run_unrecorded(join, waits, now, window).await {
        Ok(mut n) => out.findings.append(&mut n),
        Err(e) => {
            error!(error.cause_chain = %redact(&e.to_string()), "unrecorded-session check failed; retried next tick")
        }
    }
    // Rows become suspect outside cataloguing only by a pass that changes their join.
    if out.rewritten > 0 {
        let (tables, repo) = (join.ports.tables.as_ref(), join.ports.catalogue());
        match suspect::run_suspect(tables, &repo, now, window).await {
            Ok(mut n) => out.findings.append(&mut n),
            Err(e) => {
                error!(error.cause_chain = %redact(&e.to_string()), "suspect-recording check failed; retried by the next tick whose join changes a row")
            }
        }
    }
    out
}
