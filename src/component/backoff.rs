//! Reconnect delays: exponential with jitter, capped.
//!
//! 1 s doubling to 60 s (DESIGN.md §1). Jitter keeps many instances, or many
//! restarts of one, from hammering a server that just came back in lockstep.

use std::time::Duration;

use rand::Rng;

/// The state of one run of failed attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    base: Duration,
    cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Backoff {
    /// A backoff from `base`, doubling each failure, never longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            attempt: 0,
            base,
            cap,
        }
    }

    /// The delay before the next attempt, with ±20 % jitter, and counts the failure.
    pub fn next_delay(&mut self) -> Duration {
        let nominal = self.nominal();
        self.attempt = self.attempt.saturating_add(1);
        let factor = rand::thread_rng().gen_range(0.8..=1.2);
        nominal.mul_f64(factor).min(self.cap)
    }

    /// The delay without jitter for the current attempt.
    fn nominal(&self) -> Duration {
        let shift = self.attempt.min(16);
        self.base.saturating_mul(1u32 << shift).min(self.cap)
    }

    /// Forget earlier failures, after a link that worked for a while.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_and_caps() {
        let mut b = Backoff::default();
        let mut prev_nominal = Duration::ZERO;
        for i in 0..20 {
            let nominal = b.nominal();
            let d = b.next_delay();
            assert!(d <= Duration::from_secs(60), "attempt {i}: {d:?}");
            assert!(
                d >= nominal.mul_f64(0.8) && d <= nominal.mul_f64(1.2),
                "attempt {i}: {d:?} vs {nominal:?}"
            );
            assert!(nominal >= prev_nominal);
            prev_nominal = nominal;
        }
        assert_eq!(prev_nominal, Duration::from_secs(60));
        b.reset();
        assert_eq!(b.nominal(), Duration::from_secs(1));
    }
}
