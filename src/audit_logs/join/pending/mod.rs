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

use super::{Deadline, Joiner};
use crate::audit_logs::correlate::Confidence;
use crate::audit_logs::repo::WINDOWS_TABLE;
use crate::audit_logs::repo::windows::pending_rows;
use crate::catalogue::RECORDINGS_TABLE;
use crate::dates::{format_date, format_utc};
use crate::invocation::HandlerError;
use crate::tables::Filter;
use crate::tables::filter::Op;
use crate::tables::ops::query_all;

/// Most pending sessions in one round (bounds the reads before its first write).
const ROUND: usize = 500;

/// Most extra rounds a tick runs for the sessions its own rounds marked (the rest wait a tick).
const MAX_AGAIN: usize = 4;

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

/// What every pass of one tick's join reads: its time, its window and its deadline.
#[derive(Clone, Copy)]
struct Tick<'a> {
    now: OffsetDateTime,
    window: Duration,
    deadline: &'a Deadline,
}

impl Joiner {
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
        let tick = Tick {
            now,
            window,
            deadline,
        };
        let mut report = PendingReport::default();
        let mut swept = false;
        while let Some(_running) = self.gate.enter() {
            // Recordings whose wait for their own session ended first: the sessions they now name
            // are derived by the rounds that follow.
            if !swept {
                swept = true;
                self.awaited(tick, &mut report).await?;
            }
            while !report.cut && self.gate.take() {
                self.rounds(tick, &mut report).await?;
            }
            drop(_running);
            if report.cut || !self.gate.asked() {
                break;
            }
        }
        Ok(report)
    }

    /// Derives at once the state of marked sessions older than the tick's horizon (which no tick
    /// looks for): one round over their index rows as they are now.
    ///
    /// # Errors
    /// `Retryable` on storage failures.
    pub(super) async fn settle_old(
        &self,
        now: OffsetDateTime,
        marked: &[(String, String)],
    ) -> Result<(), HandlerError> {
        let horizon = self.horizon(now);
        let never = Deadline::never(self.ports.clock.clone());
        let mut old: Vec<(String, String)> = marked
            .iter()
            .filter(|(pk, _)| *pk < horizon)
            .cloned()
            .collect();
        // A round over old sessions may mark others (a recording leaving them): bounded passes.
        for _ in 0..=MAX_AGAIN {
            if old.is_empty() {
                break;
            }
            let mut read = Vec::new();
            for (pk, tunnel) in &old {
                read.extend(
                    crate::tables::ops::get(&self.ports.tables, WINDOWS_TABLE, pk, tunnel).await?,
                );
            }
            let round = round::run(self, now, read, &never, &mut PendingReport::default()).await?;
            old = round
                .marked
                .into_iter()
                .filter(|(pk, _)| *pk < horizon)
                .collect();
        }
        Ok(())
    }

    /// Joins again every recording still awaiting its own session once its wait has passed (it is
    /// then matched by time): one catalogue query over the window's day partitions (a partition
    /// range, so an idle tick pays one request, not one per day).
    async fn awaited(
        &self,
        tick: Tick<'_>,
        report: &mut PendingReport,
    ) -> Result<(), HandlerError> {
        let Tick {
            now,
            window,
            deadline,
        } = tick;
        let filter = Filter::And(vec![
            Filter::str(
                "PartitionKey",
                Op::Ge,
                format_date((now - window - Duration::days(1)).date()),
            ),
            Filter::str("PartitionKey", Op::Le, format_date(now.date())),
            Filter::str("MatchConfidence", Op::Eq, Confidence::Awaiting.as_str()),
            Filter::str("BlobCreated", Op::Le, format_utc(now - self.session_wait)),
        ]);
        for row in query_all(&self.ports.tables, RECORDINGS_TABLE, &filter, ROUND)
            .await?
            .into_iter()
            .filter_map(load::versioned)
        {
            if deadline.passed() {
                report.cut = true;
                return Ok(());
            }
            let key = row.value.key.clone();
            super::recording::join_from(self, &key, Some(row), now).await?;
            report.evaluated += 1;
        }
        Ok(())
    }

    /// Rounds until no pending session is left (or the deadline cuts).
    async fn rounds(&self, tick: Tick<'_>, report: &mut PendingReport) -> Result<(), HandlerError> {
        let Tick {
            now,
            window,
            deadline,
        } = tick;
        let since = format_date((now - window - Duration::days(2)).date());
        let mut again = 0;
        let mut old = Vec::new();
        loop {
            let rows = pending_rows(&self.ports.tables, &since, ROUND).await?;
            if rows.is_empty() {
                break;
            }
            let more = rows.len() >= ROUND;
            let round = round::run(self, now, rows, deadline, report).await?;
            let horizon = self.horizon(now);
            old.extend(round.marked.iter().filter(|(pk, _)| *pk < horizon).cloned());
            if round.settled == 0 || report.cut {
                break;
            }
            // Sessions a round marked (a recording left or joined them) are derived in the next
            // one; plans are deterministic, so a second pass over the same inputs marks nothing.
            if !more {
                if round.marked.is_empty() || again == MAX_AGAIN {
                    break;
                }
                again += 1;
            }
        }
        self.settle_old(now, &old).await
    }
}

#[cfg(test)]
mod tests;
