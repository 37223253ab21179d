//! The one retry policy, for every Azure call and webhook delivery: a transient or throttled try is
//! tried again after its `Retry-After`, else a jittered exponential back-off; a wait past the
//! caller's end is not waited (the call gives up with the last try's error).

use std::future::Future;
use std::time::{Duration, Instant};

use super::error::AzureError;

/// How many tries, and the back-off between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Tries in all, the first included; `None`: as many as the time allows.
    pub tries: Option<u32>,
    /// The back-off after the first failed try; each next one is `factor` times longer, at most
    /// `max`. Each is jittered into its upper half (a wait of `d` lasts `d/2..=d`).
    pub first: Duration,
    /// Growth per failed try.
    pub factor: u32,
    /// Longest back-off.
    pub max: Duration,
}

impl Policy {
    /// Blob, table and queue calls: three tries, 200–400 ms and 0.8–1.6 s apart, inside the
    /// call's total timeout (`STORAGE_TIMEOUT_MS`).
    pub const STORAGE: Self = Self {
        tries: Some(3),
        first: Duration::from_millis(400),
        factor: 4,
        max: Duration::from_secs(2),
    };
    /// Resource Manager, Log Analytics and Logs Ingestion: five tries, 0.5–1 s, 2–4 s, 8–16 s and
    /// 32–64 s apart (a 429 without `Retry-After`, documented for the Logs Query API, waits these
    /// too).
    pub const CONTROL: Self = Self {
        tries: Some(5),
        first: Duration::from_secs(1),
        factor: 4,
        max: Duration::from_secs(64),
    };
    /// Webhook delivery: as long as the invocation's budget lasts, 0.25–0.5 s apart, doubling up
    /// to 4–8 s.
    pub const WEBHOOK: Self = Self {
        tries: None,
        first: Duration::from_millis(500),
        factor: 2,
        max: Duration::from_secs(8),
    };

    /// Writers racing on one table row (the conditional update, which counts its own tries):
    /// 5–10 ms apart, doubling up to 100–200 ms, so racing writers stop colliding.
    pub const RACE: Self = Self {
        tries: None,
        first: Duration::from_millis(10),
        factor: 2,
        max: Duration::from_millis(200),
    };

    /// The back-off after the `failed`-th failed try (1-based), with `jitter` in `0.0..=1.0`.
    pub fn backoff(&self, failed: u32, jitter: f64) -> Duration {
        let grown = (1..failed).fold(self.first, |d, _| d.saturating_mul(self.factor));
        grown
            .min(self.max)
            .mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// Runs `attempt` until it succeeds, fails in a way no retry mends, has used its tries, or
    /// would have to wait past `end`; the error is the last try's.
    pub async fn run<T, F, Fut>(&self, end: Instant, mut attempt: F) -> Result<T, AzureError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AzureError>>,
    {
        let mut failed = 0;
        loop {
            let e = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            failed += 1;
            if !e.is_retried_here() || self.tries.is_some_and(|t| failed >= t) {
                return Err(e);
            }
            let wait = e
                .retry_after()
                .unwrap_or_else(|| self.backoff(failed, jitter()));
            if Instant::now() + wait >= end {
                return Err(e);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// A number in `0.0..=1.0` from the OS's randomness (a v4 uuid's random bits).
pub fn jitter() -> f64 {
    f64::from(u16::try_from(uuid::Uuid::new_v4().as_u128() & 0xFFFF).unwrap_or(0)) / 65535.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoffs_grow_cap_and_jitter_in_the_upper_half() {
        let p = Policy::WEBHOOK;
        let ms = Duration::from_millis;
        assert_eq!((p.backoff(1, 1.0), p.backoff(1, 0.0)), (ms(500), ms(250)));
        assert_eq!((p.backoff(2, 1.0), p.backoff(4, 1.0)), (ms(1000), ms(4000)));
        assert_eq!(
            (p.backoff(5, 1.0), p.backoff(40, 1.0)),
            (ms(8000), ms(8000))
        );
        let s = Policy::STORAGE;
        assert_eq!((s.backoff(1, 0.0), s.backoff(1, 1.0)), (ms(200), ms(400)));
        assert_eq!((s.backoff(2, 0.0), s.backoff(2, 1.0)), (ms(800), ms(1600)));
        assert!((0.0..=1.0).contains(&jitter()));
    }

    #[tokio::test]
    async fn tries_are_counted_and_a_wait_past_the_end_is_not_waited() {
        let tries = std::sync::atomic::AtomicU32::new(0);
        let busy = || async {
            tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err::<(), _>(AzureError::Transient("busy".into()))
        };
        let far = Instant::now() + Duration::from_secs(60);
        let quick = Policy {
            first: Duration::from_millis(2),
            ..Policy::STORAGE
        };
        assert!(quick.run(far, busy).await.is_err());
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 3);
        let throttled = || async {
            let retry_after = Some(Duration::from_secs(120));
            Err::<(), _>(AzureError::Throttled { retry_after })
        };
        let started = Instant::now();
        let got = Policy::CONTROL.run(far, throttled).await;
        assert_eq!(
            got.expect_err("throttled")
                .retry_after()
                .map(|d| d.as_secs()),
            Some(120)
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "given up at once"
        );
        let refused = || async { Err::<(), _>(AzureError::NotFound) };
        tries.store(0, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            Policy::WEBHOOK.run(far, refused).await,
            Err(AzureError::NotFound)
        );
    }
}
