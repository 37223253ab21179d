//! The recording ↔ session join: one decision ([`correlate::decide`]), made by one pass over what
//! changed ([`Join::run`]), and once up front for a recording being catalogued
//! ([`Join::decide_new`]).
//!
//! **What records a change.** A session whose matched fields change marks its `sessionwindows`
//! row pending over the creation times of the recordings it may gain or lose (its old and new
//! windows), in the same write that changes it ([`catalogue::window::put`](crate::catalogue::window::put)). A recording being
//! catalogued carries `JoinDue`: now, or the end of its wait while it awaits its session.
//!
//! **The pass** ([`Join::run`]), run by `AuditLogTail` each minute and by a backfill over its window,
//! one at a time ([`lease`]): it reads the pending sessions and the recordings that fell due,
//! then the recordings created within the affected spans and the sessions that can match them,
//! decides every recording once, and widens the spans to the whole window of every session whose
//! recorded state may change, reading again, until nothing new is affected. Then it writes only
//! what changed: each recording's join (with its re-tag and index rows), each affected session's
//! recorded state (derived from every recording that names it, never accumulated), clearing the
//! pending ranges it read. A crash or a spent budget leaves the rest pending for the next pass,
//! which finds the rows already written unchanged.
//!
//! **At cataloguing** ([`Join::decide_new`]) a recording is joined with the sessions known then
//! before its row is written, so a new recording's row is written once; the pass that follows
//! derives the recorded state of the sessions it names.
//!
//! `recordingkeys` (GUID → recordings, written for a recording none of whose GUIDs was a known
//! session) lets a session seen for the first time find the recordings that named it before it
//! existed and lie outside its window.

pub mod correlate;
pub mod lease;
mod pass;
mod reads;
mod write;

use std::sync::Arc;

use time::OffsetDateTime;

use crate::catalogue::recording::{Joined, Recording};
use crate::catalogue::window::WindowRow;
use crate::catalogue::{guids, session};
use crate::ports::Ports;
use crate::retention::policy::Policy;
use crate::retention::retag::retag;

pub use correlate::Times;
pub use pass::{Report, Scope};
pub use reads::window_filter;

/// What the join needs, built by its caller.
#[derive(Clone)]
pub struct Join {
    /// The tables, the watched sources (re-tagging) and the clock.
    pub ports: Ports,
    /// Retention policy (re-tagging by session fields).
    pub policy: Arc<Policy>,
    /// The matching settings.
    pub times: Times,
}

crate::telemetry::debug_fields!(Join { times });

impl Join {
    /// A join over `ports`.
    pub fn new(ports: &Ports, policy: Arc<Policy>, times: Times) -> Self {
        Self {
            ports: ports.clone(),
            policy,
            times,
        }
    }

    /// The join of a recording about to be catalogued, from the sessions known now: those its
    /// GUIDs name (point reads) and, when it names none, those whose window can hold its creation
    /// time (one query per start day). Exact when a named session is known, awaiting when it names
    /// a GUID within its wait, else by time. Returns the recording with its join, re-tag and
    /// `JoinDue` applied.
    ///
    /// When no GUID it names is a known session, its GUIDs are indexed before its row is written:
    /// a pass that reads the row finds the index too, and a session that arrives before any pass
    /// read the row finds it when the row falls due (its `JoinDue` is at the latest its wait's end).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn decide_new(
        &self,
        mut r: Recording,
    ) -> Result<Recording, crate::invocation::HandlerError> {
        let mut known = Vec::new();
        for key in &r.candidate_keys {
            if let Some(s) = session::get(self.ports.tables.as_ref(), key).await? {
                known.extend(WindowRow::of(&s));
                break;
            }
        }
        if known.is_empty() {
            guids::index(self.ports.tables.as_ref(), &r).await?;
        }
        let by_time: Vec<WindowRow> = if r.candidate_keys.is_empty() {
            let t = r.blob_created;
            let rows = reads::windows(self, t, t).await?;
            rows.into_iter().map(|(w, _)| w).collect()
        } else {
            Vec::new()
        };
        let now = self.ports.clock.now();
        let exact = |k: &str| known.iter().find(|s| s.tunnel_id == k);
        let (m, s) = correlate::decide(&r, exact, &by_time, &self.times, now);
        r.join_due = Some(self.times.due(&r, m.as_ref(), now));
        r.joined = m.map(|m| Joined {
            m,
            session: s.map(WindowRow::view),
        });
        if r.session().is_some() {
            retag(&self.policy, &self.ports.sources, &mut r).await?;
        }
        Ok(r)
    }
}

/// The first start day whose pending sessions a tick's pass reads: `window` (the tail's) and two
/// days more before `now`.
pub fn horizon(now: OffsetDateTime, window: time::Duration) -> String {
    crate::dates::format_date((now - window - time::Duration::days(2)).date())
}

#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod tests;
