//! Last-used times without a database write per request: uses are remembered in
//! memory and flushed in one batch every few seconds (and at shutdown). The first
//! use of a credential is written and audited at once.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use serde_json::json;

use crate::error::AppError;
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, Outcome};
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
                UsedCredential::ApiKey(id) => api_keys::ROWS.touch(db, *id, *at).await?,
                UsedCredential::Pat(id) => personal_access_tokens::ROWS.touch(db, *id, *at).await?,
            }
        }
        Ok(batch.len())
    }
}

/// Records a use of `credential` (owned by `owner`): the first one is written and
/// audited at once, later ones wait in memory for the next batch.
pub async fn record_use(
    state: &AppState,
    credential: UsedCredential,
    owner: Uuid,
    first: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if !first {
        state.usage.record(credential, now);
        return Ok(());
    }
    let db = state.db.write();
    let (claimed, action, kind, id) = match credential {
        UsedCredential::ApiKey(id) => (
            api_keys::ROWS.mark_first_use(db, id, now).await?,
            "api_key.first_use",
            "api_key",
            id,
        ),
        UsedCredential::Pat(id) => (
            personal_access_tokens::ROWS
                .mark_first_use(db, id, now)
                .await?,
            "pat.first_use",
            "personal_access_token",
            id,
        ),
    };
    if claimed {
        audit::record(
            db,
            AuditEvent::new(action, Outcome::Success)
                .target(kind, id.to_string())
                .details(json!({ "user_id": owner })),
            now,
        )
        .await?;
    }
    Ok(())
}
