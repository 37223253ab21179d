//! Spaced lanes: a receiver that states how often it takes a request (Slack about one message a
//! second, Teams four) gets a lane of its own, named by the request; each try waits for the lane's
//! next free slot, shared by every call of the client (every invocation in the process), unless
//! the slot lies past the call's end, and a 429 pushes the slot out for every call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Next free slot per lane.
#[derive(Debug, Default)]
pub struct Slots {
    next: Mutex<HashMap<&'static str, Instant>>,
}

impl Slots {
    /// Reserves the next slot of `lane` (spaced `every` apart) at or after `now`, unless it lies
    /// after `until`.
    ///
    /// # Errors
    /// The slot it would have been, when after `until`.
    pub fn reserve(
        &self,
        (lane, every): (&'static str, Duration),
        now: Instant,
        until: Instant,
    ) -> Result<Instant, Instant> {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = next.get(lane).copied().map_or(now, |n| n.max(now));
        if slot > until {
            return Err(slot);
        }
        next.insert(lane, slot + every);
        Ok(slot)
    }

    /// Pushes `lane`'s next slot out to `until` (a 429's `Retry-After`), keeping a later one.
    pub fn push_back(&self, lane: &'static str, until: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = next.entry(lane).or_insert(until);
        *slot = (*slot).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: (&str, Duration) = ("slack", Duration::from_millis(1000));
    const TEAMS: (&str, Duration) = ("teams", Duration::from_millis(250));
    const WEBHOOK: (&str, Duration) = ("webhook", Duration::ZERO);

    #[test]
    fn bursts_are_spaced_and_bounded_by_the_end_of_the_budget() {
        let p = Slots::default();
        let t0 = Instant::now();
        let until = t0 + Duration::from_millis(2500);
        let slots: Vec<Result<Instant, Instant>> =
            (0..4).map(|_| p.reserve(SLACK, t0, until)).collect();
        assert_eq!(slots[0], Ok(t0));
        assert_eq!(slots[1], Ok(t0 + Duration::from_secs(1)));
        assert_eq!(slots[2], Ok(t0 + Duration::from_secs(2)));
        let late = t0 + Duration::from_secs(3);
        assert_eq!(slots[3], Err(late), "beyond the end: not taken");
        // A refused reservation does not consume a slot.
        assert_eq!(
            p.reserve(SLACK, t0, t0 + Duration::from_secs(3)),
            Ok(t0 + Duration::from_secs(3))
        );
        // Lanes are independent; a lane spaced by nothing is unpaced.
        assert_eq!(p.reserve(TEAMS, t0, until), Ok(t0));
        assert_eq!(
            p.reserve(TEAMS, t0, until),
            Ok(t0 + Duration::from_millis(250))
        );
        assert_eq!(p.reserve(WEBHOOK, t0, until), Ok(t0));
        assert_eq!(p.reserve(WEBHOOK, t0, until), Ok(t0));
    }

    #[test]
    fn a_push_back_moves_slots_out_but_never_in() {
        let p = Slots::default();
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(100);
        p.push_back(WEBHOOK.0, t0 + Duration::from_secs(30));
        p.push_back(WEBHOOK.0, t0 + Duration::from_secs(10));
        assert_eq!(
            p.reserve(WEBHOOK, t0, far),
            Ok(t0 + Duration::from_secs(30))
        );
        assert!(p.reserve(WEBHOOK, t0, t0 + Duration::from_secs(5)).is_err());
        // Time moving past the pushed-back slot frees the lane again.
        let later = t0 + Duration::from_secs(40);
        assert_eq!(p.reserve(WEBHOOK, later, far), Ok(later));
    }
}
