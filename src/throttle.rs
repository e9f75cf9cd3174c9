//! A keyed rate limiter (GCRA: a token bucket without a timer), in memory on each
//! node. Used against password guessing; time comes from the caller.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Entries are dropped once their bucket is full again; the map is swept when it grows past this.
const SWEEP_AT: usize = 10_000;

pub struct RateLimiter {
    /// Time one request "costs".
    interval: Duration,
    /// How far ahead of now the theoretical arrival time may run: the burst.
    tolerance: Duration,
    buckets: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute, all of which may come at once.
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let interval = Duration::nanoseconds(60_000_000_000 / i64::from(per_minute));
        Self {
            interval,
            tolerance: interval * (per_minute as i32 - 1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Says whether `key` would be refused now, without taking anything from its bucket.
    pub fn peek(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get(key) {
            Some(tat) if *tat - self.tolerance > now => Err(*tat - self.tolerance - now),
            _ => Ok(()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, tat| *tat > now);
        }
        let tat = buckets.get(key).copied().unwrap_or(now).max(now);
        let allowed_at = tat - self.tolerance;
        if allowed_at > now {
            return Err(allowed_at - now);
        }
        buckets.insert(key.to_owned(), tat + self.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_until_time_passes() {
        let limiter = RateLimiter::per_minute(3);
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        for i in 0..3 {
            assert!(limiter.check("alice", t0).is_ok(), "attempt {i}");
        }
        let wait = limiter.check("alice", t0).unwrap_err();
        assert_eq!(wait, Duration::seconds(20));
        assert!(
            limiter.check("bob", t0).is_ok(),
            "other keys are independent"
        );
        assert!(limiter.check("alice", t0 + Duration::seconds(20)).is_ok());
        assert!(limiter.check("alice", t0 + Duration::seconds(20)).is_err());
    }

    #[test]
    fn peeking_takes_nothing() {
        let limiter = RateLimiter::per_minute(1);
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        assert!(limiter.peek("k", t0).is_ok());
        assert!(limiter.peek("k", t0).is_ok());
        assert!(limiter.check("k", t0).is_ok());
        assert_eq!(limiter.peek("k", t0), Err(Duration::seconds(60)));
    }
}
