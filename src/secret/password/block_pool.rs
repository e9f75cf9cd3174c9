//! The argon2 block arrays, kept for the life of the process.

use std::sync::{Mutex, PoisonError};

use argon2::Block;

/// argon2 block arrays, at most one per running permit: a hash leases one for its
/// duration and the lease gives it back, so argon2's memory stays at
/// `permits × block_count` blocks for the life of the process. Arrays are made
/// on first need, so a server that never sees a login holds only the one the
/// dummy hash used.
pub(super) struct BlockPool {
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
    pub(super) fn new(limit: usize, block_count: usize) -> Self {
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

    pub(super) fn lease(&self) -> Result<Lease<'_>, anyhow::Error> {
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
    pub(super) fn counts(&self) -> (usize, usize) {
        let state = self.state();
        (state.created, state.free.len())
    }
}

pub(super) struct Lease<'a> {
    pool: &'a BlockPool,
    blocks: Vec<Block>,
}

impl Lease<'_> {
    pub(super) fn blocks(&mut self) -> &mut [Block] {
        &mut self.blocks
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let blocks = std::mem::take(&mut self.blocks);
        self.pool.state().free.push(blocks);
    }
}
