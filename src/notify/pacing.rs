//! Per-destination send slots shared by every invocation in the process: Slack takes about one
//! message a second, Teams four; a send waits for the next free slot, unless it lies past the
//! budget (retryable then), and a 429 pushes the slot out for every invocation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::routes::Destination;

/// Minimum spacing between two sends to one destination.
pub fn interval(dest: Destination) -> Duration {
    match dest {
        Destination::Slack => Duration::from_millis(1000),
        Destination::Teams => Duration::from_millis(250),
        // Receivers of generic webhooks state no limit; 429 + Retry-After still applies.
        Destination::Webhook => Duration::ZERO,
    }
}

/// Next free slot per destination.
#[derive(Debug, Default)]
pub struct Slots {
    next: Mutex<HashMap<Destination, Instant>>,
}

impl Slots {
    /// Reserves the next slot for `dest` at or after `now`, unless it lies after `until`.
    ///
    /// # Errors
    /// The slot it would have been, when after `until`.
    pub fn reserve(
        &self,
        dest: Destination,
        now: Instant,
        until: Instant,
    ) -> Result<Instant, Instant> {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = next.get(&dest).copied().map_or(now, |n| n.max(now));
        if slot > until {
            return Err(slot);
        }
        next.insert(dest, slot + interval(dest));
        Ok(slot)
    }

    /// Pushes `dest`'s next slot out to `until` (a 429's `Retry-After`), keeping a later one if any.
    pub fn push_back(&self, dest: Destination, until: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = next.entry(dest).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Waits for a slot.
    ///
    /// # Errors
    /// How far away the next free slot is, when it lies after `until`.
    pub async fn wait(&self, dest: Destination, until: Instant) -> Result<(), Duration> {
        let now = Instant::now();
        let slot = self.reserve(dest, now, until).map_err(|slot| slot - now)?;
        tokio::time::sleep_until(slot.into()).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_spaced_and_bounded_by_the_end_of_the_budget() {
        let p = Slots::default();
        let t0 = Instant::now();
        let until = t0 + Duration::from_millis(2500);
        let slots: Vec<Result<Instant, Instant>> = (0..4)
            .map(|_| p.reserve(Destination::Slack, t0, until))
            .collect();
        assert_eq!(slots[0], Ok(t0));
        assert_eq!(slots[1], Ok(t0 + Duration::from_secs(1)));
        assert_eq!(slots[2], Ok(t0 + Duration::from_secs(2)));
        let late = t0 + Duration::from_secs(3);
        assert_eq!(slots[3], Err(late), "beyond the end: not taken");
        // A refused reservation does not consume a slot.
        assert_eq!(
            p.reserve(Destination::Slack, t0, t0 + Duration::from_secs(3)),
            Ok(t0 + Duration::from_secs(3))
        );
        // Destinations are independent; webhooks are unpaced.
        assert_eq!(p.reserve(Destination::Teams, t0, until), Ok(t0));
        assert_eq!(
            p.reserve(Destination::Teams, t0, until),
            Ok(t0 + Duration::from_millis(250))
        );
        assert_eq!(p.reserve(Destination::Webhook, t0, until), Ok(t0));
        assert_eq!(p.reserve(Destination::Webhook, t0, until), Ok(t0));
    }

    #[test]
    fn a_push_back_moves_slots_out_but_never_in() {
        let p = Slots::default();
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(100);
        p.push_back(Destination::Webhook, t0 + Duration::from_secs(30));
        p.push_back(Destination::Webhook, t0 + Duration::from_secs(10));
        assert_eq!(
            p.reserve(Destination::Webhook, t0, far),
            Ok(t0 + Duration::from_secs(30))
        );
        assert!(
            p.reserve(Destination::Webhook, t0, t0 + Duration::from_secs(5))
                .is_err()
        );
        // Time moving past the pushed-back slot frees the destination again.
        let later = t0 + Duration::from_secs(40);
        assert_eq!(p.reserve(Destination::Webhook, later, far), Ok(later));
    }
}
