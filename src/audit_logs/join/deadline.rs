//! A time budget, read on the clock seam (so tests advance a fixed clock instead of sleeping).

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::clock::Clock;

/// The moment a piece of work should stop and leave the rest for later.
#[derive(Clone)]
pub struct Deadline {
    clock: Arc<dyn Clock>,
    at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadline").field("at", &self.at).finish()
    }
}

impl Deadline {
    /// `budget` from now.
    pub fn after(clock: Arc<dyn Clock>, budget: Duration) -> Self {
        let at = Some(clock.now() + budget);
        Self { clock, at }
    }

    /// Never passes (a backfill reads to the end, whatever it takes).
    pub fn never(clock: Arc<dyn Clock>) -> Self {
        Self { clock, at: None }
    }

    /// The same start with only `share` of the time left (`0.0..=1.0`).
    pub fn share(&self, share: f64) -> Self {
        let at = self.at.map(|at| {
            let left = at - self.clock.now();
            self.clock.now() + left * share.clamp(0.0, 1.0)
        });
        Self {
            clock: self.clock.clone(),
            at,
        }
    }

    /// True once the time is up.
    pub fn passed(&self) -> bool {
        self.at.is_some_and(|at| self.clock.now() >= at)
    }

    /// What is left (`None`: no deadline; zero once passed).
    pub fn left(&self) -> Option<Duration> {
        self.at
            .map(|at| (at - self.clock.now()).max(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn passes_when_the_clock_reaches_it() {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2025-03-14 10:00 UTC),
        ));
        let d = Deadline::after(clock.clone(), Duration::seconds(60));
        let half = d.share(0.5);
        assert!(!d.passed() && !half.passed());
        clock.advance(Duration::seconds(30));
        assert!(half.passed() && !d.passed());
        assert_eq!(d.left(), Some(Duration::seconds(30)));
        assert_eq!(half.left(), Some(Duration::ZERO));
        clock.advance(Duration::seconds(30));
        assert!(d.passed());
        assert!(!Deadline::never(clock).passed());
    }
}
