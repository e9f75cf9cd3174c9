//! Time as a parameter: code that decides by the clock takes `now` from a [`Clock`],
//! so tests move time instead of sleeping. This is the one file that may read the
//! operating system's clock (`clippy.toml` disallows `Utc::now` everywhere else).

use std::sync::Mutex;

use chrono::{DateTime, SubsecRound, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Truncated to microseconds, the precision PostgreSQL stores, so a value reads
    /// back exactly as it was written on either database.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that stands still until it is moved: for tests (and simulations)
/// in which a deadline must pass without waiting for it.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock reading what the system clock reads now.
    pub fn starting_now() -> Self {
        ManualClock(Mutex::new(SystemClock.now()))
    }

    /// Moves the clock forward (or back, for a negative `by`).
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_now();
        let start = clock.now();
        assert_eq!(clock.now(), start, "standing still");
        clock.advance(chrono::Duration::hours(25));
        assert_eq!(clock.now() - start, chrono::Duration::hours(25));
        clock.advance(chrono::Duration::seconds(-1));
        assert_eq!(
            clock.now() - start,
            chrono::Duration::seconds(25 * 3600 - 1)
        );
    }
}
