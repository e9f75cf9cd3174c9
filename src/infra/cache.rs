//! An in-process cache of resolved credentials, so introspection and `Principal`
//! resolution cost no database round trip when warm.
//!
//! Correctness rules:
//! - Every change that can make a credential less valid (revocation, deletion,
//!   disabling, role and permission changes, rotation) clears the whole cache
//!   after its transaction commits, on this node, and — through PostgreSQL
//!   `NOTIFY trident_credentials` sent inside that transaction — on every node.
//! - A lookup that began before a clear cannot store its (possibly stale)
//!   answer after it: inserts carry the generation they started under.
//! - Without a live `LISTEN` connection (PostgreSQL) the cache is bypassed, so a
//!   lost notification can never leave a revoked credential "active". "Live" is
//!   proven, not assumed: every node sends a heartbeat notification each second,
//!   each notification received extends the cache's trust by a few seconds, and
//!   once that runs out (a listener connection that went quiet without an
//!   error: a stopped backend, a half-open socket) nothing is served from it.
//! - Entries also respect the credential's own expiry and a maximum age.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// A safety net: no entry lives longer than this, whatever happens.
const MAX_AGE: Duration = Duration::seconds(60);
const MAX_ENTRIES: usize = 100_000;

pub type CacheKey = [u8; 32];

struct Entry<T> {
    value: Arc<T>,
    stored_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

pub struct CredentialCache<T> {
    entries: RwLock<HashMap<CacheKey, Entry<T>>>,
    generation: AtomicU64,
    enabled: AtomicBool,
    /// Unix milliseconds until which the cache may answer (see the rules above).
    trusted_until: AtomicI64,
}

impl<T> CredentialCache<T> {
    pub fn new(enabled: bool) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled),
            trusted_until: AtomicI64::new(i64::MAX),
        }
    }

    /// The cache answers only until `until`; called on every proof that
    /// invalidations still arrive.
    pub fn trust_until(&self, until: DateTime<Utc>) {
        self.trusted_until
            .store(until.timestamp_millis(), Ordering::SeqCst);
    }

    fn usable(&self, now: DateTime<Utc>) -> bool {
        self.enabled.load(Ordering::SeqCst)
            && now.timestamp_millis() < self.trusted_until.load(Ordering::SeqCst)
    }

    /// The cache key of a presented secret or token (its SHA-256, never the secret).
    pub fn key(parts: &[&[u8]]) -> CacheKey {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    /// Read before the lookup whose answer may be inserted.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn get(&self, key: &CacheKey, now: DateTime<Utc>) -> Option<Arc<T>> {
        if !self.usable(now) {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        let fresh = now - entry.stored_at < MAX_AGE && entry.expires_at.is_none_or(|e| e > now);
        fresh.then(|| entry.value.clone())
    }

    /// Stores `value` unless the cache was cleared since `generation` was read.
    pub fn insert(
        &self,
        key: CacheKey,
        value: Arc<T>,
        expires_at: Option<DateTime<Utc>>,
        generation: u64,
        now: DateTime<Utc>,
    ) {
        if !self.usable(now) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        // Checked under the write lock: `invalidate_all` bumps the generation before clearing.
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries
                .retain(|_, e| now - e.stored_at < MAX_AGE && e.expires_at.is_none_or(|x| x > now));
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                value,
                stored_at: now,
                expires_at,
            },
        );
    }

    pub fn invalidate_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    /// Turns the cache on or off (off while invalidations could be missed); clears it either way.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::SeqCst);
        self.invalidate_all();
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_lookup_that_started_before_a_clear_cannot_store_its_answer() {
        let cache = CredentialCache::new(true);
        let key = CredentialCache::<u8>::key(&[b"k"]);
        let started = cache.generation();
        cache.invalidate_all();
        cache.insert(key, Arc::new(1u8), None, started, t(0));
        assert!(cache.get(&key, t(0)).is_none());
        let started = cache.generation();
        cache.insert(key, Arc::new(2u8), None, started, t(0));
        assert_eq!(cache.get(&key, t(0)).as_deref(), Some(&2));
    }

    #[test]
    fn entries_end_with_the_credential_and_with_their_maximum_age() {
        let cache = CredentialCache::new(true);
        let key = CredentialCache::<u8>::key(&[b"k"]);
        cache.insert(key, Arc::new(1u8), Some(t(10)), cache.generation(), t(0));
        assert!(cache.get(&key, t(9)).is_some());
        assert!(cache.get(&key, t(10)).is_none(), "expired credential");
        let other = CredentialCache::<u8>::key(&[b"o"]);
        cache.insert(other, Arc::new(1u8), None, cache.generation(), t(0));
        assert!(
            cache.get(&other, t(61)).is_none(),
            "older than the maximum age"
        );
    }

    #[test]
    fn a_disabled_cache_answers_nothing() {
        let cache = CredentialCache::new(true);
        let key = CredentialCache::<u8>::key(&[b"k"]);
        cache.insert(key, Arc::new(1u8), None, cache.generation(), t(0));
        cache.set_enabled(false);
        assert!(cache.get(&key, t(0)).is_none());
        cache.insert(key, Arc::new(1u8), None, cache.generation(), t(0));
        assert!(cache.get(&key, t(0)).is_none());
    }

    #[test]
    fn a_cache_whose_trust_ran_out_answers_nothing() {
        let cache = CredentialCache::new(true);
        let key = CredentialCache::<u8>::key(&[b"k"]);
        cache.trust_until(t(3));
        cache.insert(key, Arc::new(1u8), None, cache.generation(), t(0));
        assert!(cache.get(&key, t(2)).is_some());
        assert!(cache.get(&key, t(3)).is_none(), "no heartbeat since");
        cache.trust_until(t(6));
        assert!(cache.get(&key, t(4)).is_some(), "trusted again");
    }

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(
            CredentialCache::<u8>::key(&[b"ab", b"c"]),
            CredentialCache::<u8>::key(&[b"a", b"bc"])
        );
    }
}
