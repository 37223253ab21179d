//! The one join pass (see the [module docs](super)): inputs, the widening reads, the decisions,
//! then the writes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use time::{Duration, OffsetDateTime};

use super::correlate;
use super::reads::{Join, created_within, readable, rejoining, sessions_within};
use super::write::{self, LEASE_ROW, Planned, STATE_TABLE, lease_cursor, read_lease};
use crate::azure::AzureError;
use crate::catalogue::days::{self, DayRow, Derived, Span};
use crate::catalogue::key::naming_each;
use crate::catalogue::recording::{Confidence, Joined, Match, Recording, RecordingKey};
use crate::catalogue::repo::Versioned;
use crate::catalogue::session;
use crate::clock::Budget;
use crate::tables::{self, Stored};

/// Most pending sessions in one round (bounds the reads before its first write).
const ROUND: usize = 500;
/// Most widening reads in one round (a chain's far end stays pending for the next pass).
const WIDEN: usize = 4;
/// Most sessions of one start day read by point reads (two each); more read the day's partition.
const DAY_READ: usize = 15;
/// Creation times at most this far apart are read by one query: a query costs one request
/// whatever its range, so the recordings whose rejoin time falls in a tick (an instant each) cost one read
/// between them, not one each, for a few more rows.
const NEAR: Duration = Duration::minutes(10);
/// How far before the cursor a pass reads the recordings to rejoin again: a row to rejoin just before the last
/// pass's "now" may have landed after that pass read (deciding twice changes nothing).
const OVERLAP: Duration = Duration::minutes(1);

/// Which pending sessions and extra creation times a pass reads.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The first start day whose pending sessions it reads.
    pub since: String,
    /// Creation times whose recordings it decides again whatever marked them (a backfill's
    /// window).
    pub span: Option<Span>,
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Sessions whose recorded state was derived.
    pub sessions: usize,
    /// Recordings decided.
    pub evaluated: usize,
    /// Catalogue rows rewritten.
    pub rewritten: usize,
    /// Stopped by the budget with work left for the next pass.
    pub cut: bool,
    /// Another pass had the lease: nothing done.
    pub busy: bool,
}

impl Join {
    /// The pass over `scope` at `now` (the timer's time) within `budget`: one at a time across
    /// instances (a pass finding another running returns at once, `busy`).
    ///
    /// # Errors
    /// Storage failures (what was written stays written; the rest stays pending).
    pub async fn run(
        &self,
        scope: &Scope,
        now: OffsetDateTime,
        budget: &Budget,
    ) -> Result<Report, AzureError> {
        let tables = self.ports.tables.as_ref();
        let (row, cursor) = read_lease(tables).await?;
        // Rejoin times are written on the instance's clock; a timer's time may lag it or run ahead
        // of it. The read reaches the later of the two; the cursor moves only to the clock's time
        // of the read, so a row written after it with an earlier clock is read by the next pass.
        let read_at = self.ports.clock.now();
        let until = now.max(read_at);
        let after = cursor.map(|c| c - OVERLAP);
        let rejoining = rejoining(self, &scope.since, (after, until), scope.span).await?;
        let pending = days::pending(tables, &scope.since, ROUND).await?;
        let mut report = Report::default();
        if rejoining.is_empty() && pending.is_empty() && scope.span.is_none() {
            return Ok(report);
        }
        let term = budget.left().unwrap_or(Duration::hours(6)) + Duration::minutes(1);
        // The lease is timed on the instance's clock, as its release is.
        let clock = self.ports.clock.now();
        let taken = tables::lease::take(tables, STATE_TABLE, LEASE_ROW, row, clock, term);
        let Some(ours) = taken.await? else {
            report.busy = true;
            return Ok(report);
        };
        let result = self
            .rounds(
                scope,
                budget,
                (pending, rejoining),
                (now, read_at),
                &mut report,
            )
            .await;
        let cursor = result.as_ref().ok().copied().flatten();
        let props = cursor.map(lease_cursor).unwrap_or_default();
        ours.release(tables, self.ports.clock.now(), props).await?;
        result.map(|_| report)
    }

    /// Rounds until no pending session is left (or the budget cuts); the new cursor of the
    /// recordings to rejoin (`read_at`) once the first round, which decides them, has written everything.
    async fn rounds(
        &self,
        scope: &Scope,
        budget: &Budget,
        first: (Vec<(DayRow, Stored)>, Vec<Versioned<Recording>>),
        (now, read_at): (OffsetDateTime, OffsetDateTime),
        report: &mut Report,
    ) -> Result<Option<OffsetDateTime>, AzureError> {
        let (mut pending, rejoining) = first;
        let mut rejoining = Some((rejoining, scope.span));
        let mut advanced = None;
        loop {
            let more = pending.len() >= ROUND;
            let first_round = rejoining.is_some();
            let (rejoin_now, span) = rejoining.take().unwrap_or_default();
            let done = self
                .round(pending, rejoin_now, span, now, budget, report)
                .await?;
            if first_round && done {
                advanced = Some(read_at);
            }
            if !done || !more {
                break;
            }
            pending = days::pending(self.ports.tables.as_ref(), &scope.since, ROUND).await?;
        }
        Ok(advanced)
    }

    /// One round; `false` when the budget cut it (what is written stays written).
    async fn round(
        &self,
        pending: Vec<(DayRow, Stored)>,
        rejoining: Vec<Versioned<Recording>>,
        span: Option<Span>,
        now: OffsetDateTime,
        budget: &Budget,
        report: &mut Report,
    ) -> Result<bool, AzureError> {
        let mut k = Known::default();
        let mut spans: Vec<Span> = span.into_iter().collect();
        let mut affected = BTreeSet::new();
        for (w, s) in pending {
            spans.extend(w.pending);
            affected.insert(w.tunnel_id.clone());
            k.sessions.insert(w.tunnel_id.clone(), (w, Some(s)));
        }
        let mut rejoin_keys: BTreeSet<RecordingKey> =
            rejoining.iter().map(|r| r.value.key.clone()).collect();
        for r in rejoining {
            spans.push(Span::at(r.value.blob_created));
            k.recordings.insert(r.value.key.clone(), r);
        }
        let mut decided = BTreeMap::new();
        for i in 0..WIDEN {
            self.widen_reads(&mut k, &spans, &affected).await?;
            // Every recording of an explicit span counts as to rejoin (a backfill's window).
            if let (0, Some(forced)) = (i, span) {
                rejoin_keys.extend(
                    k.recordings
                        .values()
                        .filter(|r| forced.contains(r.value.blob_created))
                        .map(|r| r.value.key.clone()),
                );
            }
            decided = k.decide(&self.times, now);
            let mut named = BTreeSet::new();
            for (key, r) in &k.recordings {
                let new = decided.get(key).and_then(|(m, _)| m.as_ref());
                if r.value.matched() != new || rejoin_keys.contains(key) {
                    named.extend(tunnels(r.value.matched()).chain(tunnels(new)).cloned());
                }
            }
            affected.extend(named);
            // Every affected session's window: the creation times of all it can be named by.
            let before = spans.len();
            for t in &affected {
                self.session(&mut k, t).await?;
                self.stored(&mut k, t).await?;
                let span = k.sessions.get(t).map(|(w, _)| self.times.window_of(w));
                spans.extend(span.filter(|s| !s.within(&k.read)));
            }
            if spans.len() == before && !affected.iter().any(|t| k.needs_keys(t)) {
                break;
            }
        }
        report.evaluated += k.recordings.len();
        // Recordings whose join changed, and the index rows of those joined when catalogued.
        let mut planned = Vec::new();
        for (key, r) in &k.recordings {
            let Some((m, s)) = decided.get(key) else {
                continue;
            };
            let joined = m.clone().map(|m| Joined {
                m,
                session: s.clone(),
            });
            if r.value.joined != joined {
                planned.push(Planned {
                    read: r.clone(),
                    joined,
                });
            }
        }
        let indexed: Vec<&Recording> = rejoin_keys
            .iter()
            .filter_map(|key| k.recordings.get(key).map(|r| &r.value))
            .filter(|r| r.joined.is_some())
            .collect();
        let (rewritten, cut) =
            write::recordings(self, planned, &indexed, || !budget.passed()).await?;
        report.rewritten += rewritten;
        if cut || budget.passed() {
            report.cut = true;
            return Ok(false);
        }
        report.sessions += self.record_sessions(&k, &affected, &decided).await?;
        Ok(true)
    }

    /// Reads what the round has not read yet: the recordings created within the spans or naming
    /// a session seen for the first time, and the sessions that can match them by time or GUID.
    async fn widen_reads(
        &self,
        k: &mut Known,
        spans: &[Span],
        affected: &BTreeSet<String>,
    ) -> Result<(), AzureError> {
        for span in Span::merged_near(spans.to_vec(), NEAR) {
            if span.within(&k.read) {
                continue;
            }
            for r in created_within(self, span).await? {
                k.recordings.entry(r.value.key.clone()).or_insert(r);
            }
            k.read.push(span);
        }
        let keyed: Vec<String> = affected
            .iter()
            .filter(|t| k.needs_keys(t))
            .cloned()
            .collect();
        let naming = naming_each(self.ports.tables.as_ref(), &keyed).await?;
        for (t, keys) in keyed.into_iter().zip(naming) {
            let unread = keys
                .into_iter()
                .filter(|key| !k.recordings.contains_key(key));
            for r in readable(self, unread.collect()).await? {
                k.recordings.insert(r.value.key.clone(), r);
            }
            k.keyed.insert(t);
        }
        let times: Vec<OffsetDateTime> = k
            .recordings
            .values()
            .map(|r| r.value.blob_created)
            .filter(|t| !k.matched.iter().any(|s| s.contains(*t)))
            .collect();
        for run in Span::runs(times, Duration::days(1)) {
            for (w, s) in sessions_within(self, run.from, run.until).await? {
                k.sessions
                    .entry(w.tunnel_id.clone())
                    .or_insert((w, Some(s)));
            }
            k.matched.push(run);
        }
        let guids: BTreeSet<String> = k
            .recordings
            .values()
            .flat_map(|r| r.value.candidate_keys.iter())
            .filter(|g| !k.sessions.contains_key(*g) && !k.missing.contains(*g))
            .cloned()
            .collect();
        self.by_start_day(k, &guids).await?;
        for g in guids {
            self.session(k, &g).await?;
        }
        Ok(())
    }

    /// Reads the sessions in `guids` that recordings were joined with by their start day's
    /// partition where a day has more than [`DAY_READ`]; the rest are read by [`Self::session`].
    async fn by_start_day(
        &self,
        k: &mut Known,
        guids: &BTreeSet<String>,
    ) -> Result<(), AzureError> {
        let mut days: BTreeMap<String, usize> = BTreeMap::new();
        let joined = k.recordings.values().filter_map(|r| r.value.session());
        for s in joined.filter(|s| guids.contains(&s.tunnel_id)) {
            if let Some(start) = s.start {
                *days
                    .entry(crate::dates::format_date(start.date()))
                    .or_default() += 1;
            }
        }
        for (day, _) in days.into_iter().filter(|(_, n)| *n > DAY_READ) {
            let whole = tables::Filter::partition(&day);
            for (w, s) in days::query(self.ports.tables.as_ref(), &whole, usize::MAX).await? {
                if guids.contains(&w.tunnel_id) && !k.sessions.contains_key(&w.tunnel_id) {
                    k.sessions.insert(w.tunnel_id.clone(), (w, Some(s)));
                }
            }
        }
        Ok(())
    }

    /// Reads session `tunnel` into the round from its session row (its stored day row is read
    /// once it is affected, [`Self::stored`]).
    async fn session(&self, k: &mut Known, tunnel: &str) -> Result<(), AzureError> {
        if k.sessions.contains_key(tunnel) || k.missing.contains(tunnel) {
            return Ok(());
        }
        let row = session::get(self.ports.tables.as_ref(), tunnel).await?;
        if let Some(w) = row.and_then(|s| DayRow::of(&s)) {
            k.sessions.insert(tunnel.to_owned(), (w, None));
        } else {
            k.missing.insert(tunnel.to_owned());
        }
        Ok(())
    }

    /// Reads the stored day row of session `t` known from its session row only: its `Joined` and
    /// the version [`Self::record_sessions`] writes on.
    async fn stored(&self, k: &mut Known, t: &str) -> Result<(), AzureError> {
        let Some((w, None)) = k.sessions.get(t) else {
            return Ok(());
        };
        if k.unindexed.contains(t) {
            return Ok(());
        }
        let found = days::get_row(self.ports.tables.as_ref(), &w.day(), t).await?;
        let joined = found
            .as_ref()
            .and_then(|s| DayRow::from_entity(&s.entity))
            .is_some_and(|row| row.joined);
        match (found, k.sessions.get_mut(t)) {
            (Some(s), Some((w, stored))) => {
                w.joined = joined;
                *stored = Some(s);
            }
            _ => {
                k.unindexed.insert(t.to_owned());
            }
        }
        Ok(())
    }

    /// Writes the recorded state of every affected session whose whole window the round read,
    /// from the recordings whose new match names it; one it could not cover stays pending.
    async fn record_sessions(
        &self,
        k: &Known,
        affected: &BTreeSet<String>,
        decided: &BTreeMap<RecordingKey, Decision>,
    ) -> Result<usize, AzureError> {
        let tables = self.ports.tables.as_ref();
        let mut derived: HashMap<&str, Derived> = HashMap::new();
        for (key, (m, _)) in decided {
            let Some(m) = m else { continue };
            // A suspect match claims sessions (they are derived again) but records none; a tie
            // records none either, and marks its candidates `ambiguous`.
            let replaced = k
                .recordings
                .get(key)
                .is_some_and(|r| r.value.replaced.is_some());
            for t in m.vouched() {
                let d = derived.entry(t.as_str()).or_default();
                d.ids.push(key.id());
                d.note(m.confidence.as_str(), replaced);
            }
            if m.confidence == Confidence::Ambiguous {
                for t in &m.tunnels {
                    derived
                        .entry(t.as_str())
                        .or_default()
                        .note("ambiguous", false);
                }
            }
        }
        let mut rows = Vec::new();
        for t in affected {
            let Some((w, stored)) = k.sessions.get(t) else {
                continue;
            };
            let span = self.times.window_of(w);
            if !span.within(&k.read) || k.needs_keys(t) {
                let now = self.ports.clock.now();
                days::put_pending(tables, &self.ports.outbox, w, span, now).await?;
                continue;
            }
            // Its stored day row was read with it (none: nothing to record).
            let Some(stored) = stored.clone() else {
                continue;
            };
            // Recordings the round did not read that the row names still name it: only a GUID
            // reaches outside a session's window, and a recording leaving a session is re-decided
            // in the round that settles that session.
            let mut d = derived.remove(t.as_str()).unwrap_or_default();
            let row = DayRow::from_entity(&stored.entity);
            let pending = row.as_ref().and_then(|w| w.pending);
            let kept: Vec<String> = row.as_ref().map_or_else(Vec::new, |w| {
                w.recording_ids
                    .iter()
                    .filter(|id| {
                        RecordingKey::parse(id).is_none_or(|key| !k.recordings.contains_key(&key))
                    })
                    .cloned()
                    .collect()
            });
            // A kept recording keeps the state the row had from it.
            if let Some(w) = row.as_ref().filter(|_| !kept.is_empty()) {
                let by = ["exact", "probable"]
                    .into_iter()
                    .find(|b| *b == w.recorded_by);
                d.note(by.unwrap_or("exact"), w.replaced);
            }
            d.ids.extend(kept);
            d.ids.sort();
            d.ids.dedup();
            // Its pending range (as stored: a session the round read from its session row has
            // none) is done once every recording created within it was decided.
            let clear = pending.is_some_and(|p| p.within(&k.read));
            rows.push((stored, d, clear));
        }
        let written = rows.len();
        days::put_recorded(tables, &self.ports.outbox, rows, self.ports.clock.now()).await?;
        Ok(written)
    }
}

/// A recording's new match and, for an exact or probable one, the matched session's fields.
type Decision = (
    Option<Match>,
    Option<crate::catalogue::recording::SessionView>,
);

/// What one round has read.
#[derive(Default)]
struct Known {
    /// The recordings read, by key.
    recordings: BTreeMap<RecordingKey, Versioned<Recording>>,
    /// Sessions by tunnel id: the day row, and its stored version when it was read as one.
    sessions: HashMap<String, (DayRow, Option<Stored>)>,
    /// GUIDs known not to be sessions.
    missing: HashSet<String>,
    /// Creation-time spans whose recordings were read.
    read: Vec<Span>,
    /// Creation-time ranges whose time-matching sessions were read.
    matched: Vec<Span>,
    /// Sessions whose `recordingkeys` partition was read.
    keyed: HashSet<String>,
    /// Sessions known from their session row whose day row was looked for and not found.
    unindexed: HashSet<String>,
}

impl Known {
    /// Every recording's decision at `now` from the sessions read.
    fn decide(
        &self,
        times: &correlate::Times,
        now: OffsetDateTime,
    ) -> BTreeMap<RecordingKey, Decision> {
        let rows: Vec<DayRow> = self.sessions.values().map(|(w, _)| w.clone()).collect();
        self.recordings
            .iter()
            .map(|(key, r)| {
                let exact = |g: &str| rows.iter().find(|w| w.tunnel_id == g);
                (
                    key.clone(),
                    correlate::decide_view(&r.value, exact, &rows, times, now),
                )
            })
            .collect()
    }

    /// Whether session `t` still needs its `recordingkeys` partition read: seen for the first time
    /// (its stored day row never joined). A recording read that names its tunnel id does not
    /// spare the read: other recordings may name it from outside its window (created before it
    /// started, their wait over, decided by time meanwhile), and only the index finds them.
    fn needs_keys(&self, t: &str) -> bool {
        !self.keyed.contains(t) && self.sessions.get(t).is_some_and(|(w, _)| !w.joined)
    }
}

/// The tunnels a match names.
fn tunnels(m: Option<&Match>) -> impl Iterator<Item = &String> {
    m.into_iter().flat_map(|m| m.tunnels.iter())
}
