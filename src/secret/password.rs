//! User passwords: argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1),
//! computed on the blocking pool with bounded concurrency. At most `permits`
//! hashes run at once and at most `permits × QUEUE_FACTOR` wait; beyond that the
//! caller is told to come back later, so a login flood cannot exhaust memory or
//! starve the async workers.
//!
//! Memory: every hash works in a block array (19 MiB) taken from a pool that holds
//! at most one array per running permit and keeps them for the life of the process.
//! Letting argon2 allocate a fresh array per hash left glibc's malloc arenas holding
//! 0.6–1.5 GB after a login run, and cost ~9 % of a login's CPU in zeroing and page
//! faults (BENCHMARKS.md, issue 7).
//!
//! Shedding: a caller with work to do before its hash (a login looks the user up)
//! takes its place in the queue first, with [`PasswordHasher::try_reserve`], so that
//! a request the hasher would refuse is refused before it costs anything else.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::Password;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
/// argon2's default tag length: what `hash_password` wrote into every stored hash.
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;
const QUEUE_FACTOR: usize = 4;
/// How long a shed login is held before its 503. Clients that ignore
/// `Retry-After` and retry at once would otherwise turn cheap refusals into a
/// flood that takes the cores from the hashes (BENCHMARKS.md, overload at 16 ×).
/// A sleeping request costs no CPU, only its open connection.
const SHED_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);
/// At most this many shed requests are held at once; beyond, they are answered at
/// once, so the pause cannot become the next thing to exhaust.
const MAX_PAUSED: usize = 1024;
/// Room for any PHC salt once decoded (at most 64 base64 characters).
const SALT_BUF_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many hashes queued: shed load (503 with `Retry-After`).
    #[error("password hashing is saturated")]
    Overloaded,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A place in the hasher's queue, taken by [`PasswordHasher::try_reserve`] before
/// the work that leads to a hash and spent by [`PasswordHasher::verify_reserved`].
/// Dropping it gives the place back.
#[derive(Debug)]
#[must_use = "a queue place is held until it is spent or dropped"]
pub struct QueuedPermit(OwnedSemaphorePermit);

pub struct PasswordHasher {
    running: Arc<Semaphore>,
    queued: Arc<Semaphore>,
    memory: Arc<BlockPool>,
    /// Shed requests being held for [`SHED_PAUSE`].
    paused: Semaphore,
    params: Params,
    /// Verified against when the user does not exist, so both cases cost the same.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(permits: usize) -> Result<Self, anyhow::Error> {
        let permits = permits.max(1);
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let memory = Arc::new(BlockPool::new(permits, params.block_count()));
        let dummy_hash = hash_in(&params, b"trident-dummy-password", memory.lease()?.blocks())
            .context("computing the dummy hash")?;
        Ok(Self {
            running: Arc::new(Semaphore::new(permits)),
            queued: Arc::new(Semaphore::new(permits * QUEUE_FACTOR)),
            memory,
            paused: Semaphore::new(MAX_PAUSED),
            params,
            dummy_hash,
        })
    }

    /// Takes a place in the queue without waiting, or says the hasher is saturated.
    pub fn try_reserve(&self) -> Result<QueuedPermit, HashError> {
        self.queued
            .clone()
            .try_acquire_owned()
            .map(QueuedPermit)
            .map_err(|_| HashError::Overloaded)
    }

    /// Like [`Self::try_reserve`], but a request that is shed is first held for
    /// [`SHED_PAUSE`] (while fewer than [`MAX_PAUSED`] are), so that a client
    /// retrying at once cannot spin on refusals.
    pub async fn reserve_or_pause(&self) -> Result<QueuedPermit, HashError> {
        let reserved = self.try_reserve();
        if reserved.is_err() {
            if let Ok(_held) = self.paused.try_acquire() {
                tokio::time::sleep(SHED_PAUSE).await;
            }
        }
        reserved
    }

    /// Waits for a running permit, then runs `work` on the blocking pool in a
    /// pooled block array.
    async fn run<T: Send + 'static>(
        &self,
        queued: QueuedPermit,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        // A place from another hasher would let this one exceed its queue bound.
        if !Arc::ptr_eq(queued.0.semaphore(), &self.queued) {
            return Err(anyhow::anyhow!("a queue place of another password hasher").into());
        }
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .context("password hasher closed")?;
        let memory = Arc::clone(&self.memory);
        let outcome = tokio::task::spawn_blocking(move || {
            // The permits end with the hash, not with the caller's future: when a
            // client hangs up, actix drops the future, but the hash runs on, and
            // another must not start beside it (nor need an array of its own).
            // Declared before the lease, they are released after it gives the
            // array back.
            let _permits = (queued, running);
            let mut lease = memory.lease()?;
            Ok::<_, anyhow::Error>(work(lease.blocks()))
        })
        .await
        .context("password hashing task failed")?;
        Ok(outcome?)
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let queued = self.try_reserve()?;
        let params = self.params.clone();
        self.run(queued, move |memory| {
            hash_in(&params, password.expose().as_bytes(), memory)
        })
        .await?
        .map_err(HashError::from)
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is
    /// no stored hash, so that an unknown user costs what a wrong password costs.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let queued = self.try_reserve()?;
        self.verify_reserved(queued, password, stored).await
    }

    /// [`Self::verify`] in a queue place the caller reserved beforehand.
    pub async fn verify_reserved(
        &self,
        queued: QueuedPermit,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let params = self.params.clone();
        let ok = self
            .run(queued, move |memory| {
                verify_in(&params, password.expose().as_bytes(), &stored, memory)
            })
            .await?;
        Ok(ok && known)
    }
}

/// Hashes into a PHC string with `memory` as argon2's block array.
///
/// New passwords go through the pool too, rather than through `hash_password`
/// (which allocates its own array): hashing is rare (user creation, password
/// change) but would otherwise bring back the very allocations the pool removes,
/// and building the PHC string from the raw output takes only a few lines.
fn hash_in(
    params: &Params,
    password: &[u8],
    memory: &mut [Block],
) -> Result<String, anyhow::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; SALT_BUF_LEN];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = Output::init_with(OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(password, salt_bytes, out, &mut *memory)
            .map_err(Into::into)
    })
    .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks `password` against the PHC string `stored`, with `memory` as argon2's
/// block array, comparing the tags in constant time.
///
/// Stored hashes carry our parameters. One that does not parse, or whose
/// parameters would need more memory or more work than ours, counts as a wrong
/// password rather than being computed in a fresh allocation: a tampered or
/// foreign row must not lift the memory bound. Lighter argon2 hashes (an older
/// setting, or another OWASP variant such as m = 12 MiB, t = 3) still verify.
fn verify_in(ours: &Params, password: &[u8], stored: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed.salt,
        parsed.hash.as_ref(),
    ) else {
        return false;
    };
    // As argon2's own verifier: no version means the current one.
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if !within(&params, ours) {
        tracing::warn!(
            m = params.m_cost(),
            t = params.t_cost(),
            p = params.p_cost(),
            "a stored password hash needs more memory or work than the configured argon2 parameters: refused"
        );
        return false;
    }
    let mut salt_buf = [0u8; SALT_BUF_LEN];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut tag = [0u8; Output::MAX_LENGTH];
    let Some(tag) = tag.get_mut(..expected.len()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, tag, memory)
        .is_ok()
        && bool::from(tag.ct_eq(expected.as_bytes()))
}

/// Whether a hash with `params` fits in a pooled array and costs no more than ours.
fn within(params: &Params, ours: &Params) -> bool {
    let work = |p: &Params| p.block_count() as u64 * u64::from(p.t_cost());
    params.block_count() <= ours.block_count() && work(params) <= work(ours)
}

/// argon2 block arrays, at most one per running permit: a hash leases one for its
/// duration and the lease gives it back, so argon2's memory stays at
/// `permits × block_count` blocks for the life of the process. Arrays are made
/// on first need, so a server that never sees a login holds only the one the
/// dummy hash used.
struct BlockPool {
    state: Mutex<PoolState>,
    /// Never more arrays than running permits.
    limit: usize,
    block_count: usize,
}

struct PoolState {
    free: Vec<Vec<Block>>,
    created: usize,
}

impl BlockPool {
    fn new(limit: usize, block_count: usize) -> Self {
        Self {
            state: Mutex::new(PoolState {
                free: Vec::with_capacity(limit),
                created: 0,
            }),
            limit,
            block_count,
        }
    }

    /// The arrays stay valid whatever a panicking holder of the lock was doing.
    fn state(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lease(&self) -> Result<Lease<'_>, anyhow::Error> {
        let reused = {
            let mut state = self.state();
            match state.free.pop() {
                Some(blocks) => Some(blocks),
                None if state.created < self.limit => {
                    state.created += 1;
                    None
                }
                // Unreachable while every lease is taken under a running permit.
                None => anyhow::bail!("argon2 memory pool exhausted: more hashes than permits"),
            }
        };
        let blocks = reused.unwrap_or_else(|| vec![Block::new(); self.block_count]);
        Ok(Lease { pool: self, blocks })
    }

    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let state = self.state();
        (state.created, state.free.len())
    }
}

struct Lease<'a> {
    pool: &'a BlockPool,
    blocks: Vec<Block>,
}

impl Lease<'_> {
    fn blocks(&mut self) -> &mut [Block] {
        &mut self.blocks
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let blocks = std::mem::take(&mut self.blocks);
        self.pool.state().free.push(blocks);
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    const OWASP_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

    fn ours() -> Params {
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap()
    }

    fn memory() -> Vec<Block> {
        vec![Block::new(); ours().block_count()]
    }

    /// A hash made by argon2's own `hash_password`, as every stored hash was made
    /// before the pool.
    fn argon2_hash(password: &str, params: Params) -> String {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::new(1).unwrap();
        let hash = hasher
            .hash(Password::presented("hunter22hunter".into()))
            .await
            .unwrap();
        assert!(hash.starts_with(OWASP_PREFIX), "{hash}");
        assert!(hasher
            .verify(
                Password::presented("hunter22hunter".into()),
                Some(hash.clone())
            )
            .await
            .unwrap());
        assert!(!hasher
            .verify(Password::presented("hunter22hunteR".into()), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies_even_with_the_dummy_password() {
        let hasher = PasswordHasher::new(1).unwrap();
        let ok = hasher
            .verify(Password::presented("trident-dummy-password".into()), None)
            .await
            .unwrap();
        assert!(!ok);
    }

    #[tokio::test]
    async fn excess_load_is_shed_instead_of_queued_without_limit() {
        let hasher = Arc::new(PasswordHasher::new(1).unwrap());
        let attempts: Vec<_> = (0..(QUEUE_FACTOR * 3))
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move {
                    hasher
                        .verify(Password::presented("x".repeat(12)), None)
                        .await
                })
            })
            .collect();
        let mut shed = 0;
        for attempt in attempts {
            if matches!(attempt.await.unwrap(), Err(HashError::Overloaded)) {
                shed += 1;
            }
        }
        assert!(
            shed > 0,
            "some attempts beyond the queue bound must be shed"
        );
    }

    #[tokio::test]
    async fn try_reserve_sheds_once_the_queue_is_full_and_admits_again_when_a_place_frees() {
        let hasher = PasswordHasher::new(2).unwrap();
        let mut places: Vec<_> = (0..2 * QUEUE_FACTOR)
            .map(|i| {
                hasher
                    .try_reserve()
                    .unwrap_or_else(|e| panic!("place {i} of {}: {e}", 2 * QUEUE_FACTOR))
            })
            .collect();
        assert!(matches!(hasher.try_reserve(), Err(HashError::Overloaded)));
        assert!(
            matches!(
                hasher
                    .verify(Password::presented("x".repeat(12)), None)
                    .await,
                Err(HashError::Overloaded)
            ),
            "verify reserves its own place and must be shed too"
        );
        drop(places.pop());
        assert!(hasher.try_reserve().is_ok());
    }

    // Virtual time (tokio's paused clock): the pause is checked, not the machine's speed.
    #[tokio::test(start_paused = true)]
    async fn a_shed_login_is_held_briefly_and_only_while_few_are() {
        let hasher = PasswordHasher::new(1).unwrap();
        let places: Vec<_> = (0..QUEUE_FACTOR)
            .map(|_| hasher.try_reserve().unwrap())
            .collect();

        let started = tokio::time::Instant::now();
        assert!(matches!(
            hasher.reserve_or_pause().await,
            Err(HashError::Overloaded)
        ));
        let held = started.elapsed();
        assert!(
            held >= SHED_PAUSE && held < 2 * SHED_PAUSE,
            "a shed request is held for the pause: {held:?}"
        );

        let all_paused = hasher.paused.try_acquire_many(MAX_PAUSED as u32).unwrap();
        let started = tokio::time::Instant::now();
        assert!(matches!(
            hasher.reserve_or_pause().await,
            Err(HashError::Overloaded)
        ));
        assert_eq!(
            started.elapsed(),
            std::time::Duration::ZERO,
            "with the pause full, the refusal comes at once"
        );

        drop((all_paused, places));
        let started = tokio::time::Instant::now();
        assert!(hasher.reserve_or_pause().await.is_ok());
        assert_eq!(
            started.elapsed(),
            std::time::Duration::ZERO,
            "an admitted request is never held"
        );
    }

    #[tokio::test]
    async fn a_reserved_place_is_spent_by_the_verification_without_taking_another() {
        let hasher = PasswordHasher::new(1).unwrap();
        let hash = hasher
            .hash(Password::presented("hunter22hunter".into()))
            .await
            .unwrap();
        let mut places: Vec<_> = (0..QUEUE_FACTOR)
            .map(|_| hasher.try_reserve().unwrap())
            .collect();
        let place = places.pop().unwrap();
        let ok = hasher
            .verify_reserved(
                place,
                Password::presented("hunter22hunter".into()),
                Some(hash),
            )
            .await
            .unwrap();
        assert!(ok);
        assert!(
            hasher.try_reserve().is_ok(),
            "the spent place is given back once the verification ends"
        );
    }

    #[tokio::test]
    async fn a_place_from_another_hasher_is_refused() {
        let (hasher, other) = (
            PasswordHasher::new(1).unwrap(),
            PasswordHasher::new(1).unwrap(),
        );
        let foreign = other.try_reserve().unwrap();
        let outcome = hasher
            .verify_reserved(foreign, Password::presented("x".repeat(12)), None)
            .await;
        assert!(matches!(outcome, Err(HashError::Unexpected(_))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn block_memory_never_exceeds_one_array_per_permit_even_when_callers_hang_up() {
        let permits = 2;
        let hasher = Arc::new(PasswordHasher::new(permits).unwrap());
        let hash = hasher
            .hash(Password::presented("hunter22hunter".into()))
            .await
            .unwrap();
        let verify_all = |count: usize| -> Vec<_> {
            (0..count)
                .map(|_| {
                    let (hasher, hash) = (hasher.clone(), hash.clone());
                    tokio::spawn(async move {
                        hasher
                            .verify(Password::presented("hunter22hunter".into()), Some(hash))
                            .await
                    })
                })
                .collect()
        };
        // Callers that hang up (actix drops the future of a closed connection)
        // once their hashes run: the next callers must wait for those hashes, not
        // start beside them.
        let abandoned = verify_all(permits * QUEUE_FACTOR);
        // Until both permits are taken (bounded: on a starved machine the hashes
        // may all end before this task looks; what follows holds either way).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while hasher.running.available_permits() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        for caller in &abandoned {
            caller.abort();
        }
        for caller in abandoned {
            // Cancelled (or finished, had its hash already ended): the future is gone.
            let _ = caller.await;
        }
        // The hashes of the hung-up callers may still hold their places.
        let free_places = permits * (QUEUE_FACTOR - 1);
        for (i, attempt) in verify_all(free_places).into_iter().enumerate() {
            assert!(
                attempt.await.unwrap().unwrap(),
                "verification {i} after the hang-ups"
            );
        }
        // Every place free again: no hash is still running, every lease ended.
        let _all = hasher
            .queued
            .acquire_many((permits * QUEUE_FACTOR) as u32)
            .await
            .unwrap();
        let (created, free) = hasher.memory.counts();
        assert!(
            (1..=permits).contains(&created),
            "{created} block arrays for {permits} permits"
        );
        assert_eq!(free, created, "every array is back in the pool");
    }

    #[test]
    fn pooled_hashes_and_argon2s_own_hashes_verify_each_other() {
        let mut memory = memory();
        let ours = ours();
        let pooled = hash_in(&ours, b"correct horse", &mut memory).unwrap();
        assert!(pooled.starts_with(OWASP_PREFIX), "{pooled}");
        let parsed = PasswordHash::new(&pooled).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // A stored hash from before the pool, verified in a used array.
        let stored = argon2_hash("correct horse", ours.clone());
        assert!(stored.starts_with(OWASP_PREFIX), "{stored}");
        assert!(verify_in(&ours, b"correct horse", &stored, &mut memory));
        assert!(!verify_in(&ours, b"correct horsE", &stored, &mut memory));
    }

    #[test]
    fn malformed_and_heavier_hashes_never_verify() {
        let ours = ours();
        let mut memory = memory();
        let good = argon2_hash("correct horse", ours.clone());
        let heavier_memory = argon2_hash(
            "correct horse",
            Params::new(MEMORY_KIB * 2, ITERATIONS, PARALLELISM, None).unwrap(),
        );
        let heavier_work = argon2_hash(
            "correct horse",
            Params::new(MEMORY_KIB, ITERATIONS + 1, PARALLELISM, None).unwrap(),
        );
        let (head, tag) = good.rsplit_once('$').unwrap();
        let cases = [
            ("empty", String::new()),
            ("not PHC", "correct horse".to_owned()),
            ("no tag", format!("{head}$")),
            (
                "no salt or tag",
                OWASP_PREFIX.trim_end_matches('$').to_owned(),
            ),
            ("truncated tag", format!("{head}${}", &tag[..tag.len() - 4])),
            ("unknown parameter", good.replace("p=1", "p=1,x=2")),
            ("unknown algorithm", good.replace("argon2id", "scrypt")),
            (
                "bcrypt",
                "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
            ),
            ("twice the memory", heavier_memory),
            ("one more pass", heavier_work),
        ];
        for (case, stored) in cases {
            assert!(
                !verify_in(&ours, b"correct horse", &stored, &mut memory),
                "{case}: {stored}"
            );
        }
        assert!(
            verify_in(&ours, b"correct horse", &good, &mut memory),
            "the well-formed hash, after the refusals"
        );
    }

    #[test]
    fn lighter_argon2_hashes_still_verify_in_the_pooled_memory() {
        let ours = ours();
        let mut memory = memory();
        let lighter = argon2_hash(
            "correct horse",
            Params::new(12 * 1024, 3, PARALLELISM, None).unwrap(),
        );
        assert!(verify_in(&ours, b"correct horse", &lighter, &mut memory));
        assert!(!verify_in(&ours, b"correct horsE", &lighter, &mut memory));
    }
}
