//! Slowing down before Resource Manager throttles: every answer reports how many requests the
//! caller's bucket still holds (`x-ms-ratelimit-remaining-subscription-reads`, `…-global-reads`,
//! `…-tenant-reads`; `…-writes` for POST actions). [`Controller`] turns that count into how many
//! requests may be out at once (lowered at once, recovered one per answer) and a pause when the
//! bucket is about to run dry; [`Pacer`] applies it to every try of a [`super::http::Client`], one
//! lane for reads and one for writes. A 429 still waits its `Retry-After` (the client does), and
//! every request of the lane that shares its throttle pauses for it too (`scope.rs`: the same
//! resource provider in the same subscription), so the requests out do not each find the bucket
//! empty; the requests to other providers or subscriptions go on. Resource Manager's limits hold
//! for every instance of the app alike, so a pacer given [`SharedPauses`] (`shared.rs`) records
//! each 429's pause there and adopts the pauses the other instances recorded before each request.
//! A receiver that states its own rate (a webhook destination) gets a spaced lane instead
//! ([`Slots`], `slots.rs`).

mod lane;
mod scope;
mod shared;
mod slots;

pub use lane::Lane;
pub use scope::scope_of;
pub use shared::{SharedPauses, key, later, left};
pub use slots::Slots;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Resource Manager refills its buckets every second: the wait when one is about to run dry.
pub const DRY_PAUSE: Duration = Duration::from_secs(1);

/// The number of requests one lane may have out, from the counts its answers report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    max: usize,
    limit: usize,
}

impl Controller {
    /// Starts (and recovers) at `max` at once.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self { max, limit: max }
    }

    /// Requests that may be out now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// An answer reported `remaining` (or no count) with `in_flight` requests out, itself
    /// included: the pause before the next request, if any.
    pub fn answered(&mut self, remaining: Option<u64>, in_flight: usize) -> Option<Duration> {
        let Some(remaining) = remaining else {
            // No count (a service that sends none): recover as after a healthy one.
            self.limit = (self.limit + 1).min(self.max);
            return None;
        };
        // Floor: each request out spends one more read before its answer reports the count, and
        // the next round as many again, so keep twice the requests out in reserve.
        let allowed = usize::try_from(remaining / 2)
            .unwrap_or(usize::MAX)
            .clamp(1, self.max);
        if self.limit > allowed {
            self.limit = allowed;
        } else if self.limit < allowed {
            self.limit += 1;
        }
        // What remains could go to the requests already out: wait for the refill.
        (remaining <= in_flight as u64).then_some(DRY_PAUSE)
    }

    /// A 429: the wait before the lane's next request (the service's, else [`DRY_PAUSE`]). The
    /// limit stays: the counts of the answers after the wait decide it, and halving it per 429
    /// would serialise a burst of them into one wait each.
    pub fn throttled(&self, retry_after: Option<Duration>) -> Duration {
        retry_after.unwrap_or(DRY_PAUSE)
    }
}

/// One lane's controller, its requests out, its pause, and the pauses of its throttled scopes.
#[derive(Debug)]
struct LaneState {
    ctl: Controller,
    in_flight: usize,
    paused_until: Option<Instant>,
    /// Until when each throttled scope ([`scope_of`]) waits (a 429's `Retry-After`).
    throttled: std::collections::HashMap<String, Instant>,
}

impl LaneState {
    /// The pause a request of `scope` waits at `now`: the lane's, else its scope's.
    fn paused(&self, scope: &str, now: Instant) -> Option<Instant> {
        let lane = self.paused_until.filter(|t| *t > now);
        let scoped = self.throttled.get(scope).copied().filter(|t| *t > now);
        lane.max(scoped)
    }
}

/// Gates every try of a client by its lane's [`Controller`].
#[derive(Debug)]
pub struct Pacer {
    lanes: Mutex<[LaneState; 2]>,
    changed: Notify,
    /// Where the pauses every instance sees are recorded, if anywhere.
    shared: Option<Arc<dyn SharedPauses>>,
}

/// A request out; dropping it lets the next one go.
#[derive(Debug)]
pub struct Permit<'a> {
    pacer: &'a Pacer,
    lane: Lane,
}

impl Pacer {
    /// At most `max` requests of each lane out at once; the pauses of throttled scopes shared
    /// through `shared`, when given.
    pub fn new(max: usize, shared: Option<Arc<dyn SharedPauses>>) -> Self {
        let lane = || LaneState {
            ctl: Controller::new(max),
            in_flight: 0,
            paused_until: None,
            throttled: std::collections::HashMap::new(),
        };
        Self {
            lanes: Mutex::new([lane(), lane()]),
            changed: Notify::new(),
            shared,
        }
    }

    fn with<R>(&self, lane: Lane, f: impl FnOnce(&mut LaneState) -> R) -> R {
        let mut lanes = self
            .lanes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut lanes[lane as usize])
    }

    /// The lane's limit now (for logs and tests).
    #[cfg(test)]
    pub fn limit(&self, lane: Lane) -> usize {
        self.with(lane, |l| l.ctl.limit())
    }

    /// What is left of the pause of `scope` in either lane, this instance's or one another
    /// instance recorded: how long a request to it would wait.
    pub async fn paused(&self, scope: &str) -> Option<Duration> {
        let mut left = None;
        for lane in Lane::ALL {
            self.adopt(lane, scope).await;
            let now = Instant::now();
            let until = self.with(lane, |l| l.paused(scope, now));
            left = left.max(until.map(|t| t - now));
        }
        left
    }

    /// Takes on the pause of `scope` the instances recorded ([`SharedPauses`]), if any is on.
    async fn adopt(&self, lane: Lane, scope: &str) {
        let Some(shared) = &self.shared else {
            return;
        };
        let recorded = shared.until(&key(lane, scope)).await;
        let Some(left) = recorded.and_then(|u| left(u, SystemTime::now())) else {
            return;
        };
        let until = Instant::now() + left;
        self.with(lane, |l| {
            let t = l.throttled.entry(scope.to_owned()).or_insert(until);
            *t = (*t).max(until);
        });
    }

    /// Records a 429's `pause` of `scope` where every instance sees it ([`SharedPauses`]).
    pub async fn share(&self, lane: Lane, scope: &str, pause: Duration) {
        if let Some(shared) = &self.shared {
            shared
                .record(&key(lane, scope), SystemTime::now() + pause)
                .await;
        }
    }

    /// Waits until neither the lane nor the request's `scope` ([`scope_of`]) is paused (here or,
    /// with [`SharedPauses`], by another instance) and the lane has room, then takes a place in it. A pause until `end` or later (a 429 whose
    /// `Retry-After` outlives what is left of the call) answers at once with how long it still
    /// lasts: waiting it out would only end at the end, holding the run up for nothing.
    ///
    /// # Errors
    /// The pause left, when it reaches past `end`.
    pub async fn acquire(
        &self,
        lane: Lane,
        scope: &str,
        end: std::time::Instant,
    ) -> Result<Permit<'_>, Duration> {
        let end = Instant::from_std(end);
        self.adopt(lane, scope).await;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            let paused = self.with(lane, |l| match l.paused(scope, now) {
                Some(t) => Some(Some(t)),
                None if l.in_flight < l.ctl.limit() => {
                    l.in_flight += 1;
                    None
                }
                None => Some(None),
            });
            match paused {
                None => return Ok(Permit { pacer: self, lane }),
                Some(Some(until)) if until >= end => return Err(until - now),
                Some(Some(until)) => tokio::time::sleep_until(until).await,
                Some(None) => changed.await,
            }
        }
    }

    /// An answer of `lane` to a request of `scope`: its status and headers adjust the lane (the
    /// remaining count) or, for a 429, pause that scope: that pause is returned (to
    /// [`share`](Self::share)).
    pub fn answered(
        &self,
        lane: Lane,
        scope: &str,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Option<Duration> {
        let (pause, throttled) = self.with(lane, |l| {
            let now = Instant::now();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after = super::retry_after::retry_after(headers);
                let until = now + l.ctl.throttled(retry_after);
                l.throttled.retain(|_, t| *t > now);
                let t = l.throttled.entry(scope.to_owned()).or_insert(until);
                *t = (*t).max(until);
                return (Some(*t - now), true);
            }
            let pause = l.ctl.answered(lane.remaining(headers), l.in_flight);
            if let Some(p) = pause {
                let until = now + p;
                l.paused_until = Some(l.paused_until.map_or(until, |t| t.max(until)));
            }
            (pause, false)
        });
        if pause.is_some() {
            tracing::debug!(?lane, ?pause, "Resource Manager budget low: pausing");
        }
        self.changed.notify_waiters();
        pause.filter(|_| throttled)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.pacer
            .with(self.lane, |l| l.in_flight = l.in_flight.saturating_sub(1));
        self.pacer.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests;
