//! An in-process cache of resolved credentials, so introspection and `Principal`
//! resolution cost no database round trip when warm, and of refusals, so a
//! caller hammering with a dead credential costs none either.
//!
//! Storage is `quick_cache`: bounded by weight (what an entry costs in memory,
//! estimated by [`Weigh`]), S3-FIFO admission (a scan of one-off keys cannot push
//! out the keys in steady use), sharded locks and no global write lock on reads.
//! Refusals live in a cache of their own with its own bound, so a spray of
//! well-formed but unknown secrets can never evict an accepted credential.
//!
//! Correctness rules:
//! - **Targeted invalidation.** Every entry records what it depends on (its
//!   credential, its principal, its roles: a caller-chosen list of hashable
//!   dependencies). A change names what it affected and calls [`forget`]; only
//!   entries depending on that are dropped, on this node and — through the
//!   payload of PostgreSQL `NOTIFY` — on every node.
//! - **No stale store after a change.** Each lookup takes a [`Ticket`] (the
//!   invalidation sequence number) *before* it reads the database, and its
//!   answer is stored with it. Forgetting a dependency stamps the dependency's
//!   slot with a newer sequence number; an entry is valid only while every one of
//!   its dependencies' stamps is not newer than its ticket. So an answer computed
//!   before a change can never be served after it, even when it is stored after
//!   the change, and even though its dependencies were learnt only from the
//!   answer itself. Stamps are kept in a fixed table of slots (dependencies are
//!   hashed into it with a per-process random key): two dependencies sharing a
//!   slot only make a change forget a little more than it named, never less, and
//!   the table costs the same memory however many credentials change.
//! - **Fail closed.** Without a live `LISTEN` connection (PostgreSQL) the cache
//!   is bypassed, so a lost notification can never leave a revoked credential
//!   "active". "Live" is proven, not assumed: every node sends a heartbeat
//!   notification each second, each notification received extends the cache's
//!   trust by a few seconds, and once that runs out nothing is served from it.
//! - Entries also respect the credential's own expiry and a maximum age, and
//!   refusals a shorter one.
//!
//! [`forget`]: CredentialCache::forget

use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};
use sha2::{Digest, Sha256};

/// A safety net: no entry lives longer than this, whatever happens. Each entry
/// gets between half of it and all of it (spread by its key, which is a
/// digest), so entries stored together are not all refetched together.
const MAX_AGE: Duration = Duration::seconds(60);
/// How long a refusal is remembered.
const REFUSAL_AGE: Duration = Duration::seconds(30);
/// Slots in the table of dependency stamps (a power of two; 512 KiB of stamps).
const SLOTS: usize = 1 << 16;
/// What a remembered refusal costs: its key, its times and the cache's own
/// bookkeeping per entry.
const REFUSAL_WEIGHT: u64 = 160;
/// What an entry costs beyond its own fields and its value's heap: two `Arc`
/// headers (entry and value) and what the allocator keeps beside each of them
/// and beside the dependency slots' allocation (16 bytes each), then 160 bytes
/// of `quick_cache`'s own per-entry bookkeeping (its slot, hash index and the
/// ghost list of recently evicted keys). Measured, with the estimates of the
/// values, by tests/cache_memory.rs: the configured size is what the cache takes.
const ENTRY_OVERHEAD: u64 = 2 * (16 + 16) + 16 + 160;
/// What an accepted credential typically costs (sizes the cache's tables).
const TYPICAL_WEIGHT: u64 = 1_300;
/// The share of the cache's memory that refusals may take.
const REFUSAL_SHARE: u64 = 8;

pub type CacheKey = [u8; 32];

/// What an entry costs in memory, in bytes (an estimate: what it and its heap
/// allocations take, not allocator overhead).
pub trait Weigh {
    fn weight(&self) -> usize;
}

/// The invalidation sequence number a lookup started under; see the rules above.
#[derive(Debug, Clone, Copy)]
#[must_use = "a lookup's answer is stored with the ticket taken before it"]
pub struct Ticket(u64);

/// What the cache says about a presented credential.
pub enum Cached<T> {
    /// Accepted, as resolved then.
    Accepted(Arc<T>),
    /// Refused a moment ago, for good (unknown, revoked or expired).
    Refused,
    /// Not known here: ask the database.
    Miss,
}

struct Entry<T> {
    value: Arc<T>,
    ticket: u64,
    /// The dependencies' slots in the stamp table.
    slots: Box<[u16]>,
    stored_at: i64,
    /// When the entry stops answering: the credential's expiry or its maximum age.
    until: i64,
    weight: u64,
}

struct Refusal {
    ticket: u64,
    stored_at: i64,
}

#[derive(Clone)]
struct ByWeight;

impl<T> Weighter<CacheKey, Arc<Entry<T>>> for ByWeight {
    fn weight(&self, _key: &CacheKey, entry: &Arc<Entry<T>>) -> u64 {
        entry.weight
    }
}

impl Weighter<CacheKey, Arc<Refusal>> for ByWeight {
    fn weight(&self, _key: &CacheKey, _refusal: &Arc<Refusal>) -> u64 {
        REFUSAL_WEIGHT
    }
}

/// Counts evictions (entries pushed out to make room).
#[derive(Clone)]
struct CountEvictions(Arc<AtomicU64>);

impl<K, V> Lifecycle<K, V> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut Self::RequestState, _key: K, _value: V) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

type Store<V> = Cache<CacheKey, Arc<V>, ByWeight, DefaultHashBuilder, CountEvictions>;

/// What the cache has done since start, for the metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Answered from the cache: accepted credentials.
    pub hits: u64,
    /// Answered from the cache: remembered refusals.
    pub refusal_hits: u64,
    /// Not in the cache (or bypassed): the database answered.
    pub misses: u64,
    /// Entries dropped because a change named one of their dependencies.
    pub invalidations: u64,
    /// Entries pushed out to make room.
    pub evictions: u64,
    /// Entries held now, and the memory they are estimated to take.
    pub entries: u64,
    pub weight: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    refusal_hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
}

pub struct CredentialCache<T> {
    accepted: Store<Entry<T>>,
    refused: Store<Refusal>,
    /// The invalidation sequence: bumped by every `forget`.
    sequence: AtomicU64,
    /// The sequence number of the last "forget everything".
    floor: AtomicU64,
    /// Per dependency slot, the sequence number of the last change naming it.
    stamps: Box<[AtomicU64]>,
    /// Hashes dependencies into slots; random per process.
    slot_hasher: RandomState,
    enabled: AtomicBool,
    /// Unix milliseconds until which the cache may answer (see the rules above).
    trusted_until: AtomicI64,
    evictions: Arc<AtomicU64>,
    counters: Counters,
}

impl<T: Weigh> CredentialCache<T> {
    /// A cache taking at most about `capacity_bytes` of memory (of which
    /// refusals at most an eighth).
    pub fn new(enabled: bool, capacity_bytes: u64) -> anyhow::Result<Self> {
        let evictions = Arc::new(AtomicU64::new(0));
        let refusal_bytes = capacity_bytes / REFUSAL_SHARE;
        Ok(Self {
            accepted: store(capacity_bytes - refusal_bytes, TYPICAL_WEIGHT, &evictions)?,
            refused: store(refusal_bytes, REFUSAL_WEIGHT, &evictions)?,
            sequence: AtomicU64::new(0),
            floor: AtomicU64::new(0),
            stamps: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            slot_hasher: RandomState::new(),
            enabled: AtomicBool::new(enabled),
            trusted_until: AtomicI64::new(i64::MAX),
            evictions,
            counters: Counters::default(),
        })
    }

    /// The cache answers only until `until`; called on every proof that
    /// invalidations still arrive.
    pub fn trust_until(&self, until: DateTime<Utc>) {
        self.trusted_until
            .store(until.timestamp_millis(), Ordering::SeqCst);
    }

    fn usable(&self, now: i64) -> bool {
        self.enabled.load(Ordering::SeqCst) && now < self.trusted_until.load(Ordering::SeqCst)
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

    /// Taken before the lookup whose answer may be stored.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.sequence.load(Ordering::SeqCst))
    }

    fn slot(&self, dependency: &impl Hash) -> u16 {
        // Truncation intended: the low 16 bits pick one of the `SLOTS` slots.
        (self.slot_hasher.hash_one(dependency) as usize % SLOTS) as u16
    }

    /// Whether an answer stored under `ticket`, depending on `slots`, still holds.
    fn holds(&self, ticket: u64, slots: &[u16]) -> bool {
        ticket >= self.floor.load(Ordering::SeqCst)
            && slots
                .iter()
                .all(|&slot| self.stamps[usize::from(slot)].load(Ordering::SeqCst) <= ticket)
    }

    pub fn get(&self, key: &CacheKey, now: DateTime<Utc>) -> Cached<T> {
        let now = now.timestamp_millis();
        if !self.usable(now) {
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            return Cached::Miss;
        }
        if let Some(entry) = self.accepted.get(key) {
            let fresh = now >= entry.stored_at && now < entry.until;
            if fresh && self.holds(entry.ticket, &entry.slots) {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                return Cached::Accepted(entry.value.clone());
            }
            // Only this entry: a newer one stored meanwhile stays.
            self.accepted
                .remove_if(key, |current| Arc::ptr_eq(current, &entry));
        } else if let Some(refusal) = self.refused.get(key) {
            let fresh = now - refusal.stored_at < REFUSAL_AGE.num_milliseconds();
            if fresh && self.holds(refusal.ticket, &[]) {
                self.counters.refusal_hits.fetch_add(1, Ordering::Relaxed);
                return Cached::Refused;
            }
            self.refused
                .remove_if(key, |current| Arc::ptr_eq(current, &refusal));
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        Cached::Miss
    }

    /// Stores an accepted credential resolved under `ticket`, valid until
    /// `expires_at` and until a change names one of `dependencies`.
    pub fn insert<D: Hash>(
        &self,
        key: CacheKey,
        value: Arc<T>,
        dependencies: &[D],
        expires_at: Option<DateTime<Utc>>,
        ticket: Ticket,
        now: DateTime<Utc>,
    ) {
        let now = now.timestamp_millis();
        let slots: Box<[u16]> = dependencies.iter().map(|d| self.slot(d)).collect();
        if !self.usable(now) || !self.holds(ticket.0, &slots) {
            return;
        }
        let weight = (std::mem::size_of::<Entry<T>>()
            + std::mem::size_of::<CacheKey>()
            + slots.len() * std::mem::size_of::<u16>()
            + value.weight()) as u64
            + ENTRY_OVERHEAD;
        let max_age = MAX_AGE.num_milliseconds();
        let spread = max_age / 2 * i64::from(key[0]) / 255;
        let until =
            (now + max_age - spread).min(expires_at.map_or(i64::MAX, |e| e.timestamp_millis()));
        self.refused.remove(&key);
        self.accepted.insert(
            key,
            Arc::new(Entry {
                value,
                ticket: ticket.0,
                slots,
                stored_at: now,
                until,
                weight,
            }),
        );
    }

    /// Remembers that `key` was refused for good under `ticket`: a credential
    /// that does not exist, or was revoked or has expired. Such a refusal stays
    /// true (a credential is never revived), and it can never hide a credential
    /// issued later: keys are digests of the whole presented secret, and a new
    /// secret is fresh randomness (256 bits), so it cannot be a secret presented
    /// before it was made.
    pub fn insert_refusal(&self, key: CacheKey, ticket: Ticket, now: DateTime<Utc>) {
        let now = now.timestamp_millis();
        if !self.usable(now) || !self.holds(ticket.0, &[]) {
            return;
        }
        self.refused.insert(
            key,
            Arc::new(Refusal {
                ticket: ticket.0,
                stored_at: now,
            }),
        );
    }

    /// Drops every entry depending on `dependency`, and any answer computed
    /// before now that would depend on it.
    pub fn forget(&self, dependency: &impl Hash) {
        let stamp = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        self.stamps[usize::from(self.slot(dependency))].fetch_max(stamp, Ordering::SeqCst);
        self.counters.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops everything: what an overflowing or unreadable notice asks for, and
    /// what a listener that was away must do on its return.
    pub fn forget_all(&self) {
        let stamp = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        self.floor.fetch_max(stamp, Ordering::SeqCst);
        self.accepted.clear();
        self.refused.clear();
        self.counters.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// Turns the cache on or off (off while invalidations could be missed); clears it either way.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::SeqCst);
        self.forget_all();
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    pub fn stats(&self) -> CacheStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            hits: load(&self.counters.hits),
            refusal_hits: load(&self.counters.refusal_hits),
            misses: load(&self.counters.misses),
            invalidations: load(&self.counters.invalidations),
            evictions: load(&self.evictions),
            entries: (self.accepted.len() + self.refused.len()) as u64,
            weight: self.accepted.weight() + self.refused.weight(),
        }
    }
}

fn store<V>(
    capacity_bytes: u64,
    typical_weight: u64,
    evictions: &Arc<AtomicU64>,
) -> anyhow::Result<Store<V>>
where
    ByWeight: Weighter<CacheKey, Arc<V>>,
{
    let capacity_bytes = capacity_bytes.max(typical_weight * 64);
    let options = OptionsBuilder::new()
        .estimated_items_capacity((capacity_bytes / typical_weight) as usize)
        .weight_capacity(capacity_bytes)
        .build()
        .map_err(|e| anyhow::anyhow!("credential cache options: {e}"))?;
    Ok(Cache::with_options(
        options,
        ByWeight,
        DefaultHashBuilder::default(),
        CountEvictions(evictions.clone()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weigh for u8 {
        fn weight(&self) -> usize {
            1
        }
    }

    const MIB: u64 = 1 << 20;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_000_000 + s, 0).unwrap()
    }

    fn cache() -> CredentialCache<u8> {
        CredentialCache::new(true, MIB).unwrap()
    }

    fn key(name: &str) -> CacheKey {
        CredentialCache::<u8>::key(&[name.as_bytes()])
    }

    fn accepted(cache: &CredentialCache<u8>, key: &CacheKey, now: DateTime<Utc>) -> Option<u8> {
        match cache.get(key, now) {
            Cached::Accepted(value) => Some(*value),
            _ => None,
        }
    }

    #[test]
    fn a_change_forgets_exactly_the_entries_that_depend_on_it() {
        let cache = cache();
        cache.insert(
            key("a"),
            Arc::new(1),
            &["user-1", "role-x"],
            None,
            cache.ticket(),
            t(0),
        );
        cache.insert(
            key("b"),
            Arc::new(2),
            &["user-2", "role-x"],
            None,
            cache.ticket(),
            t(0),
        );
        cache.insert(
            key("c"),
            Arc::new(3),
            &["user-3"],
            None,
            cache.ticket(),
            t(0),
        );
        cache.forget(&"user-1");
        assert_eq!(accepted(&cache, &key("a"), t(0)), None);
        assert_eq!(accepted(&cache, &key("b"), t(0)), Some(2));
        cache.forget(&"role-x");
        assert_eq!(accepted(&cache, &key("b"), t(0)), None);
        assert_eq!(
            accepted(&cache, &key("c"), t(0)),
            Some(3),
            "depends on neither"
        );
        assert_eq!(cache.stats().hits, 2);
    }

    /// The interleaving that would leave a revoked credential active: the lookup
    /// reads the row, the revocation commits and forgets, then the lookup stores
    /// what it read. Its ticket predates the change, so the answer never serves.
    #[test]
    fn a_lookup_racing_a_change_never_leaves_a_stale_entry() {
        let cache = cache();
        let ticket = cache.ticket(); // lookup starts, reads "active"
        cache.forget(&"key-1"); // revocation commits and forgets
        cache.insert(
            key("k"),
            Arc::new(1),
            &["key-1", "user-1"],
            None,
            ticket,
            t(0),
        );
        assert_eq!(accepted(&cache, &key("k"), t(0)), None);

        // Learnt from the answer itself: a dependency the lookup did not know
        // when it started (the owner) is held to the same ticket.
        let ticket = cache.ticket();
        cache.forget(&"user-2");
        cache.insert(
            key("l"),
            Arc::new(1),
            &["key-2", "user-2"],
            None,
            ticket,
            t(0),
        );
        assert_eq!(accepted(&cache, &key("l"), t(0)), None);

        // Stored first, forgotten after: gone too.
        let ticket = cache.ticket();
        cache.insert(key("m"), Arc::new(1), &["key-3"], None, ticket, t(0));
        assert_eq!(accepted(&cache, &key("m"), t(0)), Some(1));
        cache.forget(&"key-3");
        assert_eq!(accepted(&cache, &key("m"), t(0)), None);

        // A lookup that starts after the change stores what it read.
        let ticket = cache.ticket();
        cache.insert(
            key("k"),
            Arc::new(2),
            &["key-1", "user-1"],
            None,
            ticket,
            t(0),
        );
        assert_eq!(accepted(&cache, &key("k"), t(0)), Some(2));
    }

    #[test]
    fn forgetting_everything_drops_every_entry_and_every_lookup_in_flight() {
        let cache = cache();
        let in_flight = cache.ticket();
        cache.insert(key("a"), Arc::new(1), &["x"], None, cache.ticket(), t(0));
        cache.insert_refusal(key("r"), cache.ticket(), t(0));
        cache.forget_all();
        assert_eq!(accepted(&cache, &key("a"), t(0)), None);
        assert!(matches!(cache.get(&key("r"), t(0)), Cached::Miss));
        cache.insert(key("b"), Arc::new(1), &["y"], None, in_flight, t(0));
        assert_eq!(accepted(&cache, &key("b"), t(0)), None);
    }

    #[test]
    fn entries_end_with_the_credential_and_with_their_maximum_age() {
        let cache = cache();
        cache.insert(
            key("k"),
            Arc::new(1),
            &["k"],
            Some(t(10)),
            cache.ticket(),
            t(0),
        );
        assert!(accepted(&cache, &key("k"), t(9)).is_some());
        assert!(
            accepted(&cache, &key("k"), t(10)).is_none(),
            "expired credential"
        );
        for name in ["o", "p", "q", "r"] {
            cache.insert(key(name), Arc::new(1), &[name], None, cache.ticket(), t(0));
            assert!(accepted(&cache, &key(name), t(29)).is_some(), "{name}");
            assert!(
                accepted(&cache, &key(name), t(60)).is_none(),
                "{name}: older than the maximum age"
            );
        }
    }

    #[test]
    fn refusals_are_remembered_briefly_and_give_way_to_an_acceptance() {
        let cache = cache();
        cache.insert_refusal(key("dead"), cache.ticket(), t(0));
        assert!(matches!(cache.get(&key("dead"), t(29)), Cached::Refused));
        assert!(matches!(cache.get(&key("dead"), t(30)), Cached::Miss));
        cache.insert_refusal(key("k"), cache.ticket(), t(0));
        cache.insert(key("k"), Arc::new(1), &["k"], None, cache.ticket(), t(0));
        assert_eq!(accepted(&cache, &key("k"), t(0)), Some(1));
        assert_eq!(cache.stats().refusal_hits, 1);
    }

    #[test]
    fn a_disabled_cache_answers_nothing() {
        let cache = cache();
        cache.insert(key("k"), Arc::new(1), &["k"], None, cache.ticket(), t(0));
        cache.set_enabled(false);
        assert!(accepted(&cache, &key("k"), t(0)).is_none());
        cache.insert(key("k"), Arc::new(1), &["k"], None, cache.ticket(), t(0));
        cache.insert_refusal(key("r"), cache.ticket(), t(0));
        assert!(accepted(&cache, &key("k"), t(0)).is_none());
        assert!(matches!(cache.get(&key("r"), t(0)), Cached::Miss));
    }

    #[test]
    fn a_cache_whose_trust_ran_out_answers_nothing() {
        let cache = cache();
        cache.trust_until(t(3));
        cache.insert(key("k"), Arc::new(1), &["k"], None, cache.ticket(), t(0));
        assert!(accepted(&cache, &key("k"), t(2)).is_some());
        assert!(
            accepted(&cache, &key("k"), t(3)).is_none(),
            "no heartbeat since"
        );
        cache.trust_until(t(6));
        assert!(accepted(&cache, &key("k"), t(4)).is_some(), "trusted again");
    }

    #[test]
    fn memory_stays_within_the_bound_and_refusals_cannot_push_out_acceptances() {
        let cache = cache();
        for i in 0..20_000u32 {
            cache.insert(
                key(&format!("k{i}")),
                Arc::new(1),
                &[i],
                None,
                cache.ticket(),
                t(0),
            );
        }
        let stats = cache.stats();
        assert!(stats.weight <= MIB, "{stats:?}");
        assert!(stats.evictions > 0, "{stats:?}");
        let held = stats.entries;
        for i in 0..100_000u32 {
            cache.insert_refusal(key(&format!("r{i}")), cache.ticket(), t(0));
        }
        let after = cache.stats();
        assert!(after.weight <= MIB, "{after:?}");
        let accepted_now = (0..20_000u32)
            .filter(|i| accepted(&cache, &key(&format!("k{i}")), t(0)).is_some())
            .count() as u64;
        assert_eq!(
            accepted_now, held,
            "accepted entries left after a spray of refusals"
        );
    }

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(
            CredentialCache::<u8>::key(&[b"ab", b"c"]),
            CredentialCache::<u8>::key(&[b"a", b"bc"])
        );
    }
}
