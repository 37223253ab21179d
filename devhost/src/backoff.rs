//! Polling while storage does not answer: each failed poll doubles the wait before the next, from
//! the poll interval up to [`CAP`], and one line says so; the first answer resets it. So an
//! emulator that is down costs a few log lines a minute per container, not two a second.

use std::time::Duration;

/// The longest wait between polls of a store that does not answer.
pub(crate) const CAP: Duration = Duration::from_secs(30);

/// The wait before the next poll.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    failures: u32,
}

impl Backoff {
    /// Polling every `base` while it answers.
    pub(crate) fn new(base: Duration) -> Self {
        Self { base, failures: 0 }
    }

    /// A poll failed: the wait before the next one (twice the last, at most [`CAP`]).
    pub(crate) fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.wait()
    }

    /// A poll answered: true when it answered after failures (worth a line saying so).
    pub(crate) fn answered(&mut self) -> bool {
        std::mem::replace(&mut self.failures, 0) > 0
    }

    /// The wait before the next poll.
    pub(crate) fn wait(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.failures.min(16));
        self.base
            .saturating_mul(factor.max(1))
            .min(CAP.max(self.base))
    }
}

/// `1.5 s`: a wait as a log line says it.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_reset_on_an_answer() {
        let mut b = Backoff::new(Duration::from_millis(500));
        assert_eq!(b.wait(), Duration::from_millis(500));
        let waits: Vec<u64> = (0..8).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        // A minute of outage is a handful of polls, not 120.
        let mut b = Backoff::new(Duration::from_millis(500));
        let (mut spent, mut polls) = (Duration::ZERO, 0);
        while spent < Duration::from_secs(60) {
            spent += b.failed();
            polls += 1;
        }
        assert!(polls <= 8, "{polls} polls in a minute");
        assert!(b.answered(), "recovered after failures");
        assert!(!b.answered(), "nothing to say the second time");
        assert_eq!(b.wait(), Duration::from_millis(500));
    }
}
