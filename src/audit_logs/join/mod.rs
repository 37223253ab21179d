//! The recording ↔ session join (I/O around [`correlate`](super::correlate)).
//!
//! Order independent: a recording's match is recomputed from the sessions stored now, so running
//! it again whenever either side changes converges. Two sides:
//!
//! - **Recording side** ([`after_write`], [`after_catalogue`], [`join_recording`]): a recording was
//!   catalogued (`RecordingCreated`, `Reconcile`). Its GUIDs go to `recordingkeys`, then it is
//!   joined with point reads of `sessions` (exact keys) or two days of `sessionwindows`.
//! - **Session side** ([`Joiner::run_pending`], once per tail tick): the tail marks the
//!   `sessionwindows` row of every session whose join-relevant fields changed as *pending*, with
//!   the time range its old and new windows cover, in the same write that updates the row. The
//!   tick then reads all pending rows in one query, finds the affected recordings once (exact keys
//!   through `recordingkeys`, the rest through the catalogue's day partitions filtered to the
//!   pending ranges), reads the `sessionwindows` days they need once, recomputes every affected
//!   recording once, and writes only the rows whose result changed. Clearing a row's pending mark
//!   (together with its join marks) is the last write, so a crash or a spent time budget leaves it
//!   pending for the next tick, which finds the recordings already written unchanged.
//!
//! **Sessions' recorded state** is derived, never accumulated: each recording links the sessions
//! its current match names (`sessionrecordings`), and a session's `Recorded`/`RecordingIds` are
//! recomputed from its links whenever they change ([`write`] says how, crash- and race-safe), so
//! a recording whose match moves to another session takes its mark back.
//!
//! A [`Joiner`] holds what the join uses: the ports (tables, the recordings' sources for
//! re-tagging, the clock), the retention policy, the matching settings and the instance's gate.

mod deadline;
mod fields;
mod gate;
mod held;
mod lookup;
mod pending;
mod recording;
pub mod retag;
mod write;

use crate::ports::Ports;
use std::sync::Arc;

pub use deadline::Deadline;
pub use fields::{JOIN_PROPERTIES, MAX_CANDIDATES, apply_join, hints, source_bastion};
pub use gate::JoinGate;
pub use held::HeldWindows;
pub use lookup::get_session;
pub use lookup::window_filter;
pub use pending::PendingReport;
pub use recording::{
    Prepared, after_catalogue, after_insert, after_write, before_insert, index_recording_keys,
    join_recording,
};

use time::{Duration, OffsetDateTime};

use super::AuditSettings;
use super::correlate::MatchTimes;
use crate::retention::policy::Policy;

/// What the join needs, built by its caller.
#[derive(Clone)]
pub struct Joiner {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// Retention policy (re-tagging).
    pub policy: Arc<Policy>,
    /// `RECORDING_UPLOAD_LAG_MINUTES`: recordings are created within `[start, end + lag]`.
    pub upload_lag: Duration,
    /// `OPEN_SESSION_MAX_HOURS`: window end of a session whose end is not known.
    pub open_session_max: Duration,
    /// `RECORDING_SESSION_WAIT_MINUTES`: how long a recording naming an unknown GUID awaits it.
    pub session_wait: Duration,
    /// `AUDIT_TAIL_WINDOW_HOURS`: the tick's join looks for pending sessions that started within
    /// it (+ two days); older sessions a recording marks are derived at once by the marker.
    pub tail_window: Duration,
    /// The instance's one-round-at-a-time gate for the session side.
    pub gate: Arc<JoinGate>,
    /// Index rows held back for a caller that writes them in batches (a backfill page); `None`:
    /// written before each catalogue row.
    pub deferred_index: Option<Arc<crate::catalogue::index::Deferred>>,
    /// Index rows read ahead for the recordings joined together (a backfill page); `None`: each
    /// recording reads what it needs.
    pub windows: Option<Arc<HeldWindows>>,
    /// A session-side round first asks whether any recording names a GUID at all (one query) and
    /// reads no `recordingkeys` partition when none does: set by a backfill, whose audit-log pass
    /// runs before its recordings are catalogued.
    pub probe_keys: bool,
}

impl std::fmt::Debug for Joiner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joiner")
            .field("upload_lag", &self.upload_lag)
            .field("open_session_max", &self.open_session_max)
            .finish_non_exhaustive()
    }
}

impl Joiner {
    /// A join over these seams with the matching settings of `audit`.
    pub fn new(
        ports: &Ports,
        policy: Arc<Policy>,
        audit: &AuditSettings,
        gate: Arc<JoinGate>,
    ) -> Self {
        Self {
            ports: ports.clone(),
            policy,
            upload_lag: audit.upload_lag,
            open_session_max: audit.open_session_max,
            session_wait: audit.session_wait,
            tail_window: audit.tail_window,
            gate,
            deferred_index: None,
            windows: None,
            probe_keys: false,
        }
    }

    /// The first start day whose pending sessions the tick's join finds.
    pub(crate) fn horizon(&self, now: OffsetDateTime) -> String {
        crate::dates::format_date((now - self.tail_window - Duration::days(2)).date())
    }

    /// The times a match decided at `now` depends on.
    pub(crate) fn times(&self, now: OffsetDateTime) -> MatchTimes {
        MatchTimes {
            now,
            wait: self.session_wait,
            lag: self.upload_lag,
            open_max: self.open_session_max,
        }
    }

    /// How far before a recording's creation the heuristic looks for session starts: the open
    /// window, and at least a day so a long session whose end is known is still found.
    pub(crate) fn lookback(&self) -> Duration {
        self.open_session_max.max(Duration::days(1))
    }
}

#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod tests;
