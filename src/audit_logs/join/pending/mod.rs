//! The session side of the join, run once per tail tick over every session marked pending (see the
//! [`join`](super) module docs). One round: read the pending rows (one query), the recordings they
//! affect (one `recordingkeys` query per session, one catalogue query per day of their merged
//! ranges), the index rows those recordings can match (one query per day); plan every recording
//! once in memory; then write, in this order, the marks of sessions that are not pending, the
//! catalogue rows whose join changed, and each pending session's marks with its range cleared.
//!
//! The time budget is checked between reads of `recordingkeys` (a round shrinks to the sessions
//! read in time) and between writes (the rows written stay written; the next tick finds them
//! unchanged), so every tick makes progress whatever the input.

mod load;
mod plan;
mod round;

use time::{Duration, OffsetDateTime};

use super::{Deadline, Join};
use crate::audit_logs::repo::windows::pending_rows;
use crate::dates::format_date;
use crate::invocation::HandlerError;

/// Most pending sessions in one round (bounds the reads before its first write).
const ROUND: usize = 500;

/// What the session-side join did in one tick.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PendingReport {
    /// Pending sessions joined (their ranges cleared).
    pub sessions: usize,
    /// Recordings recomputed.
    pub evaluated: usize,
    /// Catalogue rows rewritten.
    pub rewritten: usize,
    /// Stopped by the deadline with work left for the next tick.
    pub cut: bool,
}

impl Join {
    /// Joins every session marked pending whose start day lies within `window` (+ two days of
    /// slack) before `now`, in rounds, until none is left or `deadline` passes; when this instance
    /// is running such a join already, hands the request to it and returns an empty report (see
    /// [`JoinGate`](super::JoinGate)).
    ///
    /// # Errors
    /// `Retryable` on storage failures (what was written stays written; the rest stays pending).
    pub async fn run_pending(
        &self,
        now: OffsetDateTime,
        window: Duration,
        deadline: &Deadline,
    ) -> Result<PendingReport, HandlerError> {
        let mut report = PendingReport::default();
        while let Some(_running) = self.gate.enter() {
            while !report.cut && self.gate.take() {
                self.rounds(now, window, deadline, &mut report).await?;
            }
            drop(_running);
            if report.cut || !self.gate.asked() {
                break;
            }
        }
        Ok(report)
    }

    /// Rounds until no pending session is left (or the deadline cuts).
    async fn rounds(
        &self,
        now: OffsetDateTime,
        window: Duration,
        deadline: &Deadline,
        report: &mut PendingReport,
    ) -> Result<(), HandlerError> {
        let since = format_date((now - window - Duration::days(2)).date());
        loop {
            let rows = pending_rows(&self.tables, &since, ROUND).await?;
            if rows.is_empty() {
                break;
            }
            let more = rows.len() >= ROUND;
            let settled = round::run(self, rows, deadline, report).await?;
            if !more || settled == 0 || report.cut {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
