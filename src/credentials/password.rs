//! User passwords: argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1),
//! computed on the blocking pool with bounded concurrency. At most `permits`
//! hashes run at once and at most `permits × QUEUE_FACTOR` wait; beyond that the
//! caller is told to come back later, so a login flood cannot exhaust memory or
//! starve the async workers.

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const QUEUE_FACTOR: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many hashes queued: shed load (503 with `Retry-After`).
    #[error("password hashing is saturated")]
    Overloaded,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub struct PasswordHasher {
    running: Arc<Semaphore>,
    queued: Arc<Semaphore>,
    /// Verified against when the user does not exist, so both cases cost the same.
    dummy_hash: String,
}

fn argon2() -> Result<Argon2<'static>, anyhow::Error> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<String, anyhow::Error> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

impl PasswordHasher {
    pub fn new(permits: usize) -> Result<Self, anyhow::Error> {
        let permits = permits.max(1);
        Ok(Self {
            running: Arc::new(Semaphore::new(permits)),
            queued: Arc::new(Semaphore::new(permits * QUEUE_FACTOR)),
            dummy_hash: hash_blocking("trident-dummy-password")
                .context("computing the dummy hash")?,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _queued = self
            .queued
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Overloaded)?;
        let _running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .context("password hasher closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing task failed")
            .map_err(HashError::from)
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move || hash_blocking(password.expose()))
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
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = self
            .run(move || verify_blocking(password.expose(), &stored))
            .await?;
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::new(1).unwrap();
        let hash = hasher
            .hash(Password::presented("hunter22hunter".into()))
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
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
}
