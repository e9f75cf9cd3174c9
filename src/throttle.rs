//! A keyed rate limiter (GCRA: a token bucket without a timer), in memory on each
//! node. Used against password guessing; time comes from the caller.
//!
//! Keys are stored as their SHA-256 digest, so a caller choosing keys (a 16 KB
//! username, a made-up client_id) cannot choose how much memory each one takes;
//! the map is swept of full buckets when it doubles, so a flood of new keys costs
//! amortised constant time per check rather than a sweep per check.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};

/// The map is first swept when it grows past this many keys.
const SWEEP_AT: usize = 10_000;

type KeyDigest = [u8; 32];

struct Buckets {
    /// Theoretical arrival time of each key's next request.
    tats: HashMap<KeyDigest, DateTime<Utc>>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
}

pub struct RateLimiter {
    /// Time one request "costs".
    interval: Duration,
    /// How far ahead of now the theoretical arrival time may run: the burst.
    tolerance: Duration,
    buckets: Mutex<Buckets>,
}

fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

impl RateLimiter {
    /// `per_minute` requests a minute, all of which may come at once.
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let interval = Duration::nanoseconds(60_000_000_000 / i64::from(per_minute));
        Self {
            interval,
            tolerance: interval * (per_minute as i32 - 1),
            buckets: Mutex::new(Buckets {
                tats: HashMap::new(),
                sweep_at: SWEEP_AT,
            }),
        }
    }

    /// Says whether `key` would be refused now, without taking anything from its bucket.
    pub fn peek(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.tats.get(&digest(key)) {
            Some(tat) if *tat - self.tolerance > now => Err(*tat - self.tolerance - now),
            _ => Ok(()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        let key = digest(key);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.tats.len() >= buckets.sweep_at {
            // Entries whose bucket is full again say nothing a missing entry does not.
            buckets.tats.retain(|_, tat| *tat > now);
            buckets.sweep_at = (buckets.tats.len() * 2).max(SWEEP_AT);
        }
        let tat = buckets.tats.get(&key).copied().unwrap_or(now).max(now);
        let allowed_at = tat - self.tolerance;
        if allowed_at > now {
            return Err(allowed_at - now);
        }
        buckets.tats.insert(key, tat + self.interval);
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.tats.len()
    }
}

/// What a per-address limit counts: an IPv4 address, or the /64 network of an
/// IPv6 address (the usual allocation to one subscriber: counting single IPv6
/// addresses would hand whoever holds a /64 2^64 buckets).
pub fn address_key(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
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

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
        assert_ne!(address_key("192.0.2.7"), address_key("192.0.2.8"));
    }

    #[test]
    fn a_flood_of_new_keys_is_swept_and_huge_keys_take_no_more_room() {
        let limiter = RateLimiter::per_minute(10);
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let huge = "x".repeat(16 * 1024);
        for i in 0..SWEEP_AT {
            assert!(limiter.check(&format!("{huge}{i}"), t0).is_ok());
        }
        assert_eq!(limiter.len(), SWEEP_AT);
        // A minute later every bucket is full again: the next check sweeps them all.
        let later = t0 + Duration::minutes(1);
        assert!(limiter.check("fresh", later).is_ok());
        assert_eq!(limiter.len(), 1);
        // Refusals still hold for a key that is in use.
        for _ in 0..10 {
            assert!(limiter.check("busy", later).is_ok());
        }
        assert!(limiter.check("busy", later).is_err());
    }
}
