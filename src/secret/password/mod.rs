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
//!
//! The rooms: [`phc`] computes and checks PHC strings in a given block array,
//! [`block_pool`] owns those arrays, and this file admits the work (queue,
//! running permits, shedding) and runs it on the blocking pool.

mod block_pool;
mod phc;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use anyhow::Context;
use argon2::{Block, Params};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::Password;
use block_pool::BlockPool;

const QUEUE_FACTOR: usize = 4;
/// How long a shed login is held before its 503. Clients that ignore
/// `Retry-After` and retry at once would otherwise turn cheap refusals into a
/// flood that takes the cores from the hashes (BENCHMARKS.md, overload at 16 ×).
/// A sleeping request costs no CPU, only its open connection.
const SHED_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);
/// At most this many shed requests are held at once; beyond, they are answered at
/// once, so the pause cannot become the next thing to exhaust.
const MAX_PAUSED: usize = 1024;

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
        let params = phc::owasp_params()?;
        let memory = Arc::new(BlockPool::new(permits, params.block_count()));
        let dummy_hash = phc::hash_in(&params, b"trident-dummy-password", memory.lease()?.blocks())
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
            phc::hash_in(&params, password.expose().as_bytes(), memory)
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
                phc::verify_in(&params, password.expose().as_bytes(), &stored, memory)
            })
            .await?;
        Ok(ok && known)
    }
}
