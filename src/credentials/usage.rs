//! Last-used times without a database write per request: uses are remembered in
//! memory and flushed in one batch every few seconds (and at shutdown). The first
//! use of a credential is written and audited at once.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::store::{api_keys, personal_access_tokens, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsedCredential {
    ApiKey(Uuid),
    Pat(Uuid),
}

#[derive(Default)]
pub struct UsageTracker {
    pending: Mutex<HashMap<UsedCredential, DateTime<Utc>>>,
}

impl UsageTracker {
    pub fn record(&self, credential: UsedCredential, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pending.entry(credential).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// Writes every pending last-used time; returns how many.
    pub async fn flush(&self, db: &impl ConnectionTrait) -> Result<usize, StoreError> {
        let batch: Vec<_> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.drain().collect()
        };
        for (credential, at) in &batch {
            match credential {
                UsedCredential::ApiKey(id) => api_keys::touch(db, *id, *at).await?,
                UsedCredential::Pat(id) => personal_access_tokens::touch(db, *id, *at).await?,
            }
        }
        Ok(batch.len())
    }
}
