//! The clock seam: production reads the system clock, tests pin time (the test kit's `FixedClock`).

use time::{Duration, OffsetDateTime};

/// A source of "now".
pub trait Clock: Send + Sync + 'static {
    /// The current time (UTC).
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A time budget: the moment a piece of work stops and leaves the rest for later, read on the
/// clock seam (so tests advance a fixed clock instead of sleeping).
#[derive(Clone)]
pub struct Budget {
    clock: std::sync::Arc<dyn Clock>,
    at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget").field("at", &self.at).finish()
    }
}

impl Budget {
    /// `budget` from now.
    pub fn after(clock: std::sync::Arc<dyn Clock>, budget: Duration) -> Self {
        let at = Some(clock.now() + budget);
        Self { clock, at }
    }

    /// Never runs out (a backfill reads to the end, whatever it takes).
    pub fn unlimited(clock: std::sync::Arc<dyn Clock>) -> Self {
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

    /// The time left (`None`: unlimited).
    pub fn left(&self) -> Option<Duration> {
        self.at
            .map(|at| (at - self.clock.now()).max(Duration::ZERO))
    }

    /// True once the time is up.
    pub fn passed(&self) -> bool {
        self.at.is_some_and(|at| self.clock.now() >= at)
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::clock::FixedClock;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_budget_passes_when_the_clock_reaches_it() {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2025-03-14 10:00 UTC),
        ));
        let d = Budget::after(clock.clone(), Duration::seconds(60));
        let half = d.share(0.5);
        assert!(!d.passed() && !half.passed());
        assert_eq!(d.left(), Some(Duration::seconds(60)));
        clock.advance(Duration::seconds(30));
        assert!(half.passed() && !d.passed());
        clock.advance(Duration::seconds(30));
        assert!(d.passed());
        assert_eq!(d.left(), Some(Duration::ZERO));
        assert!(!Budget::unlimited(clock).passed());
    }
}
