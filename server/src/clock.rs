//! The time the server goes by. Production reads the system clock; tests
//! move a shifted one forward or back instead of editing dates in the
//! database, and a spawned `ducha` process gets the same through the
//! test-only setting `test_clock_offset`.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, to the microsecond both databases keep.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::store::time_now()
    }
}

/// The system clock shifted by a settable amount: time still passes, so
/// timeouts and leases behave, but a test can jump past a deadline.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    ahead_micros: AtomicI64,
}

impl ShiftedClock {
    pub fn new(ahead: TimeDelta) -> ShiftedClock {
        let clock = ShiftedClock::default();
        clock.set(ahead);
        clock
    }

    /// Moves the clock by `by` (back when negative).
    pub fn advance(&self, by: TimeDelta) {
        self.ahead_micros
            .fetch_add(by.num_microseconds().unwrap_or(0), Ordering::SeqCst);
    }

    /// Sets how far ahead of the system clock it runs.
    pub fn set(&self, ahead: TimeDelta) {
        self.ahead_micros
            .store(ahead.num_microseconds().unwrap_or(0), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        crate::store::time_now() + TimeDelta::microseconds(self.ahead_micros.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_moves_both_ways_and_keeps_running() {
        let c = ShiftedClock::new(TimeDelta::days(2));
        let ahead = c.now() - SystemClock.now();
        assert!(
            ahead >= TimeDelta::days(2) - TimeDelta::seconds(1),
            "{ahead}"
        );
        c.advance(TimeDelta::days(-16));
        let behind = SystemClock.now() - c.now();
        assert!(
            behind >= TimeDelta::days(14) - TimeDelta::seconds(1),
            "{behind}"
        );
        assert!(
            behind <= TimeDelta::days(14) + TimeDelta::seconds(1),
            "{behind}"
        );
    }
}
