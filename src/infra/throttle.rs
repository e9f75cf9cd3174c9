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

/// How long a successful sign-in keeps its address "known" for that account.
const KNOWN_ADDRESS_DAYS: u64 = 30;
/// Known (account, address) pairs remembered at most; the least used go first.
const KNOWN_ADDRESSES: u64 = 100_000;

/// Password guessing (low-entropy secrets) without locking the owner out.
/// Only *failed* attempts are charged, and an attempt is refused before the
/// password is hashed when one of these is spent:
/// - the (account, address) pair: `per_minute` failures, the guesser's own budget;
/// - the address: 5 × `per_minute` (an office behind one NAT mistypes too), so a
///   single source cannot sweep many accounts;
/// - the account across all addresses: 10 × `per_minute`, a ceiling against
///   guessing from many addresses, which does not apply to addresses the account
///   signed in from in the last 30 days. A distributed guesser can therefore
///   slow a user's *new* devices down, never the ones the user already uses.
pub struct LoginThrottle {
    pair: RateLimiter,
    address: RateLimiter,
    account: RateLimiter,
    /// Digests of (account, address) pairs that signed in successfully.
    known: moka::sync::Cache<KeyDigest, ()>,
}

impl LoginThrottle {
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        Self {
            pair: RateLimiter::per_minute(per_minute),
            address: RateLimiter::per_minute(per_minute.saturating_mul(5)),
            account: RateLimiter::per_minute(per_minute.saturating_mul(10)),
            known: moka::sync::Cache::builder()
                .max_capacity(KNOWN_ADDRESSES)
                .time_to_idle(std::time::Duration::from_secs(KNOWN_ADDRESS_DAYS * 86_400))
                .build(),
        }
    }

    fn keys(account: &str, ip: Option<&str>) -> (String, Option<String>, String) {
        let address = ip.map(address_key);
        let pair = format!("{account}\0{}", address.as_deref().unwrap_or(""));
        (format!("account:{account}"), address, pair)
    }

    /// Whether an attempt on `account` (its comparison form) from `ip` may be judged now.
    pub fn admit(
        &self,
        account: &str,
        ip: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        let (account_key, address, pair) = Self::keys(account, ip);
        if let Some(address) = &address {
            self.address.peek(address, now)?;
        }
        self.pair.peek(&pair, now)?;
        if !self.known.contains_key(&digest(&pair)) {
            self.account.peek(&account_key, now)?;
        }
        Ok(())
    }

    /// Charges a failed attempt to every budget it belongs to.
    pub fn failed(&self, account: &str, ip: Option<&str>, now: DateTime<Utc>) {
        let (account_key, address, pair) = Self::keys(account, ip);
        if let Some(address) = &address {
            let _ = self.address.check(address, now);
        }
        let _ = self.pair.check(&pair, now);
        let _ = self.account.check(&account_key, now);
    }

    /// Remembers that `account` signs in from `ip`.
    pub fn succeeded(&self, account: &str, ip: Option<&str>) {
        let (_, _, pair) = Self::keys(account, ip);
        self.known.insert(digest(&pair), ());
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
    fn a_guesser_spends_its_own_budget_and_never_the_owners_known_address() {
        let throttle = LoginThrottle::per_minute(2);
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        throttle.succeeded("alice", Some("192.0.2.1"));
        // One guesser: two failures spend its pair budget, not the owner's.
        for _ in 0..2 {
            assert!(throttle.admit("alice", Some("203.0.113.9"), t0).is_ok());
            throttle.failed("alice", Some("203.0.113.9"), t0);
        }
        assert!(throttle.admit("alice", Some("203.0.113.9"), t0).is_err());
        assert!(throttle.admit("alice", Some("192.0.2.1"), t0).is_ok());
        // Many guessers reach the account's ceiling (10 × 2): new addresses wait,
        // the owner's known address does not.
        for i in 0..20 {
            throttle.failed("alice", Some(&format!("198.51.100.{i}")), t0);
        }
        assert!(throttle.admit("alice", Some("198.51.100.200"), t0).is_err());
        assert!(throttle.admit("alice", Some("192.0.2.1"), t0).is_ok());
        assert!(
            throttle.admit("bob", Some("198.51.100.200"), t0).is_ok(),
            "other accounts"
        );
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
