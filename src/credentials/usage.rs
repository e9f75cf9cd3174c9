//! Last-used times without a database write per request: uses are remembered in
//! memory and flushed in one batch every few seconds (and at shutdown). The first
//! use of a credential is written and audited at once — or, while the database
//! cannot write, with the next batch: a bookkeeping write never makes a valid
//! credential fail, and a batch that cannot be written is kept for the next one.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
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
    /// First uses that could not be written yet, with the owner and the time.
    first_uses: Mutex<HashMap<UsedCredential, (Uuid, DateTime<Utc>)>>,
}

fn merge_latest(
    map: &mut HashMap<UsedCredential, DateTime<Utc>>,
    key: UsedCredential,
    at: DateTime<Utc>,
) {
    let entry = map.entry(key).or_insert(at);
    *entry = (*entry).max(at);
}

impl UsageTracker {
    pub fn record(&self, credential: UsedCredential, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        merge_latest(&mut pending, credential, at);
    }

    fn defer_first_use(&self, credential: UsedCredential, owner: Uuid, at: DateTime<Utc>) {
        let mut first = self.first_uses.lock().unwrap_or_else(|p| p.into_inner());
        first.entry(credential).or_insert((owner, at));
    }

    /// Writes every deferred first use and pending last-used time; returns how
    /// many. What could not be written stays for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<usize, StoreError> {
        let first: Vec<_> = {
            let mut first = self.first_uses.lock().unwrap_or_else(|p| p.into_inner());
            first.drain().collect()
        };
        let mut written = 0;
        for (i, (credential, (owner, at))) in first.iter().enumerate() {
            if let Err(e) = write_first_use(db, *credential, *owner, *at).await {
                for (credential, (owner, at)) in &first[i..] {
                    self.defer_first_use(*credential, *owner, *at);
                }
                return Err(e);
            }
            written += 1;
        }
        let batch: Vec<_> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.drain().collect()
        };
        for (i, (credential, at)) in batch.iter().enumerate() {
            let touched = match credential {
                UsedCredential::ApiKey(id) => api_keys::ROWS.touch(db, *id, *at).await,
                UsedCredential::Pat(id) => personal_access_tokens::ROWS.touch(db, *id, *at).await,
            };
            if let Err(e) = touched {
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                for (credential, at) in &batch[i..] {
                    merge_latest(&mut pending, *credential, *at);
                }
                return Err(e);
            }
            written += 1;
        }
        Ok(written)
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
    match write_first_use(state.db.write(), credential, owner, now).await {
        Err(e) if e.retry_after().is_some() => {
            tracing::warn!(error = %e, "first use not written yet; deferred to the next batch");
            state.usage.defer_first_use(credential, owner, now);
            Ok(())
        }
        other => Ok(other?),
    }
}

/// Marks the first use and audits it in one transaction, once, whichever node or
/// batch gets there first.
async fn write_first_use(
    db: &DatabaseConnection,
    credential: UsedCredential,
    owner: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    let db = &txn;
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
    txn.commit().await?;
    Ok(())
}
