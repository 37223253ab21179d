//! The clock a test pins: [`FixedClock`] moves only when told to.

use bastion_recordings::clock::Clock;
use time::{Duration, OffsetDateTime};

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FixedClock(std::sync::Mutex<OffsetDateTime>);

impl FixedClock {
    /// Pinned at `t`.
    pub fn new(t: OffsetDateTime) -> Self {
        Self(std::sync::Mutex::new(t))
    }

    /// Moves to `t`.
    pub fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Moves forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *g += d;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
