//! `AuditLogTail` (timer, every minute): advances every active cursor, then runs the per-minute
//! detections (`login.failed.burst`, `session.unrecorded`).
//!
//! Bounded work: at most `AUDIT_TAIL_MAX_BLOBS` cursors (least recently read first) and
//! `AUDIT_TAIL_MAX_BYTES` per tick; the rest continues next tick. A blob that fails is logged and
//! retried next tick from its last saved offset; the tick still ends `Processed` so notifications of
//! the healthy part are delivered (outputs are dropped on a 500). Only when every attempted blob
//! failed does the tick answer `Retryable`.

pub mod batch;
pub mod blob;

use time::OffsetDateTime;
use tracing::error;

use super::detect::{failed, unrecorded};
use super::repo::CursorRepo;
use crate::events::timer::TimerInfo;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::notify::{Notification, OUTPUT_BINDING};
use crate::state::AppState;
use crate::telemetry::redact;

/// Totals of one tick.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Blobs read.
    pub blobs: usize,
    /// Blobs that failed.
    pub failed: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Records parsed.
    pub records: u64,
    /// Corrupt lines quarantined.
    pub corrupt: u64,
    /// Session rows changed.
    pub sessions: usize,
    /// Recordings (re)joined.
    pub joined: usize,
    /// Notifications to emit.
    pub notifications: Vec<Notification>,
}

/// "Now" of a timer invocation: the host's `sys.UtcNow`, else the clock.
pub fn now_of(state: &AppState, inv: &Invocation) -> OffsetDateTime {
    inv.request.sys().now().unwrap_or_else(|| state.clock.now())
}

/// Handles one timer invocation.
///
/// # Errors
/// `Retryable` when every attempted blob failed or the cursor query failed.
pub async fn handle(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    // The timer payload carries nothing the tail needs; a malformed one must not stop tailing.
    let _timer: Option<TimerInfo> = inv.request.data_object("timer").ok();
    let report = tick(&state, now_of(&state, &inv)).await?;
    // Outputs are dropped on a 500: a tick holding digests it won (markers written) must deliver
    // them; its failed blobs are retried next tick from their saved offsets either way.
    if report.failed > 0 && report.failed == report.blobs && report.notifications.is_empty() {
        return Err(HandlerError::storage(anyhow::anyhow!(
            "all {} audit blobs failed this tick",
            report.failed
        )));
    }
    Ok(outcome(report))
}

/// Turns a report into the invocation outcome.
pub fn outcome(report: TickReport) -> Outcome {
    let summary = format!(
        "tailed {} blobs ({} failed): {} bytes, {} records, {} corrupt, {} sessions changed, {} recordings joined, {} notifications",
        report.blobs,
        report.failed,
        report.bytes,
        report.records,
        report.corrupt,
        report.sessions,
        report.joined,
        report.notifications.len()
    );
    let mut o = Outcome::processed(summary);
    for n in &report.notifications {
        o = o.with_output(OUTPUT_BINDING, n);
    }
    o
}

/// One tick: tail, then detect.
///
/// # Errors
/// `Retryable` when the cursor list or the detections cannot be read.
pub async fn tick(state: &AppState, now: OffsetDateTime) -> Result<TickReport, HandlerError> {
    let repo = CursorRepo::new(state.tables.clone());
    let cursors = repo
        .active(now, state.audit.tail_window, state.audit.tail_max_blobs)
        .await?;
    let mut budget = state.audit.tail_max_bytes;
    let mut report = TickReport::default();
    for cursor in &cursors {
        if budget == 0 {
            break;
        }
        match blob::tail_blob(state, cursor, now, &mut budget).await {
            Ok(r) if r.contended => {}
            Ok(r) => {
                report.blobs += 1;
                report.bytes += r.bytes;
                report.records += r.records;
                report.corrupt += r.corrupt;
                report.sessions += r.flushed.sessions;
                report.joined += r.flushed.joined;
            }
            Err(e) => {
                report.blobs += 1;
                report.failed += 1;
                error!(blob = %cursor.blob, error.cause_chain = %redact(&e.to_string()), "tailing an audit blob failed; retried next tick");
            }
        }
    }
    detect(state, now, &mut report).await;
    Ok(report)
}

/// Per-minute detections. A failure is logged and left for the next tick: burst checks stay
/// pending in their table until one succeeds; markers are only set by the writer that emits.
async fn detect(state: &AppState, now: OffsetDateTime, report: &mut TickReport) {
    let audit = &state.audit;
    // Every partition touched (this tick or an earlier one whose check failed) is pending.
    report.notifications.extend(
        failed::run_pending(
            &state.tables,
            audit.failed_login_threshold,
            audit.failed_login_window,
        )
        .await,
    );
    match unrecorded::run(state, now, audit.tail_window).await {
        Ok(mut n) => report.notifications.append(&mut n),
        Err(e) => {
            error!(error.cause_chain = %redact(&e.to_string()), "unrecorded-session check failed; retried next tick")
        }
    }
}

#[cfg(test)]
mod tests;
