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

use crate::domain::CredentialId;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::{usage as usage_rows, StoreError};

#[derive(Default)]
pub struct UsageTracker {
    pending: Mutex<HashMap<CredentialId, DateTime<Utc>>>,
    /// First uses that could not be written yet, with the owner and the time.
    first_uses: Mutex<HashMap<CredentialId, (Uuid, DateTime<Utc>)>>,
}

fn merge_latest(
    map: &mut HashMap<CredentialId, DateTime<Utc>>,
    key: CredentialId,
    at: DateTime<Utc>,
) {
    let entry = map.entry(key).or_insert(at);
    *entry = (*entry).max(at);
}

impl UsageTracker {
    pub fn record(&self, credential: CredentialId, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        merge_latest(&mut pending, credential, at);
    }

    pub(super) fn defer_first_use(&self, credential: CredentialId, owner: Uuid, at: DateTime<Utc>) {
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
            if let Err(e) = usage_rows::touch(db, *credential, *at).await {
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

/// Marks the first use and audits it in one transaction, once, whichever node or
/// batch gets there first.
pub(super) async fn write_first_use(
    db: &DatabaseConnection,
    credential: CredentialId,
    owner: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    if usage_rows::mark_first_use(&txn, credential, now).await? {
        let kind = credential.kind;
        audit::record(
            &txn,
            AuditEvent::new(
                format!("{}.first_use", kind.audit_action_prefix()),
                Outcome::Success,
            )
            .target(kind.audit_target(), credential.id.to_string())
            .details(json!({ "user_id": owner })),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
