//! The key ring: the active signing key, every key still published for
//! verification, and the JWKS document, loaded from the database (so every node
//! shares them) and kept in memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use super::{MasterKey, SigningAlgorithm};
use crate::store::signing_keys as store;

/// The key that signs new tokens.
pub struct ActiveKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    pub encoding: EncodingKey,
}

/// A published key: the algorithm is bound to the `kid`, so a token cannot choose another.
pub struct VerificationKey {
    pub algorithm: SigningAlgorithm,
    pub decoding: DecodingKey,
}

struct KeySet {
    active: Arc<ActiveKey>,
    verification: HashMap<String, Arc<VerificationKey>>,
    jwks: Arc<JwkSet>,
    loaded_at: DateTime<Utc>,
}

pub struct KeyRing {
    master: MasterKey,
    set: RwLock<Arc<KeySet>>,
}

/// A `kid` we do not know triggers a reload at most this often (another node may have rotated).
const MISS_RELOAD_INTERVAL: Duration = Duration::seconds(5);

impl KeyRing {
    /// Loads the published keys, creating the first signing key when there is none.
    pub async fn load_or_create(
        db: &impl ConnectionTrait,
        master: MasterKey,
        algorithm: SigningAlgorithm,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        if store::find_active(db).await?.is_empty() {
            let generated = algorithm.generate()?;
            let sealed = master.seal(&generated.private_der)?;
            store::insert(db, generated.stored(sealed)?, now).await?;
            tracing::info!(kid = %generated.kid, algorithm = %algorithm, "created the first signing key");
        }
        let set = build_set(db, &master, now).await?;
        Ok(Self {
            master,
            set: RwLock::new(Arc::new(set)),
        })
    }

    fn current(&self) -> Arc<KeySet> {
        self.set
            .read()
            .map_or_else(|p| p.into_inner().clone(), |s| s.clone())
    }

    /// Re-reads the keys from the database (after a rotation, here or on another node).
    pub async fn reload(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let set = Arc::new(build_set(db, &self.master, now).await?);
        match self.set.write() {
            Ok(mut guard) => *guard = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
        Ok(())
    }

    pub fn signer(&self) -> Arc<ActiveKey> {
        self.current().active.clone()
    }

    pub fn jwks(&self) -> Arc<JwkSet> {
        self.current().jwks.clone()
    }

    /// The verification key for `kid`, reloading once in a while when it is unknown.
    pub async fn verification_key(
        &self,
        db: &impl ConnectionTrait,
        kid: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Arc<VerificationKey>>> {
        let set = self.current();
        if let Some(key) = set.verification.get(kid) {
            return Ok(Some(key.clone()));
        }
        if now - set.loaded_at < MISS_RELOAD_INTERVAL {
            return Ok(None);
        }
        self.reload(db, now).await?;
        Ok(self.current().verification.get(kid).cloned())
    }

    /// Makes a new signing key active; the previous ones stay published for `overlap`
    /// so tokens they signed keep verifying until they expire.
    pub async fn rotate(
        &self,
        db: &DatabaseConnection,
        algorithm: SigningAlgorithm,
        overlap: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let generated = algorithm.generate()?;
        let sealed = self.master.seal(&generated.private_der)?;
        let txn = db.begin().await.context("beginning the rotation")?;
        store::retire_active(&txn, now, now + overlap).await?;
        store::insert(&txn, generated.stored(sealed)?, now).await?;
        txn.commit().await.context("committing the rotation")?;
        self.reload(db, now).await?;
        Ok(generated.kid)
    }
}

async fn build_set(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    now: DateTime<Utc>,
) -> anyhow::Result<KeySet> {
    let rows = store::find_published(db, now).await?;
    let mut verification = HashMap::new();
    let mut jwks = Vec::new();
    let mut active = None;
    for row in rows {
        let algorithm: SigningAlgorithm = row.algorithm.parse().map_err(|_| {
            anyhow::anyhow!(
                "signing key {} has unknown algorithm {}",
                row.kid,
                row.algorithm
            )
        })?;
        let jwk: Jwk = serde_json::from_str(&row.public_jwk)
            .with_context(|| format!("signing key {} JWK", row.kid))?;
        verification.insert(
            row.kid.clone(),
            Arc::new(VerificationKey {
                algorithm,
                decoding: algorithm.decoding_key(&jwk)?,
            }),
        );
        jwks.push(jwk);
        // Rows come newest first: the newest unretired key signs.
        if row.retired_at.is_none() && active.is_none() {
            let der = master
                .open(&row.private_key_ciphertext)
                .with_context(|| format!("opening signing key {}", row.kid))?;
            active = Some(Arc::new(ActiveKey {
                kid: row.kid.clone(),
                algorithm,
                encoding: algorithm.encoding_key(&der),
            }));
        }
    }
    let active = active.context("no active signing key in the database")?;
    Ok(KeySet {
        active,
        verification,
        jwks: Arc::new(JwkSet { keys: jwks }),
        loaded_at: now,
    })
}
