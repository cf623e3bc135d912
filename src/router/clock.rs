//! Where the router reads the time it stamps on every request
//! ([`Request::now`](crate::mix::Request)): the system clock in service,
//! or a manual clock that only moves when told, so that in-process tests
//! and the fuzz harness can step over rate-limit windows and invitation
//! expiry without sleeping, and a fuzz input replays at the same instant.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The router's time source.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// Unix microseconds that change only through [`Clock::advance`];
    /// clones share them.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock standing at `micros` (unix microseconds).
    pub fn manual(micros: i64) -> Self {
        Self::Manual(Arc::new(AtomicI64::new(micros)))
    }

    /// Now, in unix microseconds.
    pub fn now_micros(&self) -> i64 {
        match self {
            Self::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
            Self::Manual(t) => t.load(Ordering::Relaxed),
        }
    }

    /// Moves a manual clock on by `by`; the system clock moves by itself,
    /// so this does nothing to it.
    pub fn advance(&self, by: Duration) {
        if let Self::Manual(t) = self {
            let by = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
            let _ = t.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                Some(now.saturating_add(by))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let c = Clock::manual(1_000);
        let shared = c.clone();
        assert_eq!(c.now_micros(), 1_000);
        shared.advance(Duration::from_millis(2));
        assert_eq!(c.now_micros(), 3_000);
        c.advance(Duration::MAX);
        assert_eq!(c.now_micros(), i64::MAX, "saturates");
    }

    #[test]
    fn the_system_clock_is_past_2020() {
        assert!(Clock::System.now_micros() > 1_577_836_800_000_000);
    }
}
