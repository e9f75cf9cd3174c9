//! Last-used times without a database write per request: uses are remembered in
//! memory (a sharded map: no lock shared by every request) and flushed every few
//! seconds (and at shutdown) in one transaction, one statement per kind, second
//! and up to [`CHUNK`] credentials, each row's time truncated to the second. The first
//! use of a credential is written and audited at once — or, while the database
//! cannot write, with the next batch: a bookkeeping write never makes a valid
//! credential fail, and a batch that cannot be written is kept for the next one.
//! Uses are recorded by the lookups that read the database, not by answers from
//! the credential cache, so a time is behind by at most the cache's maximum age.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use dashmap::DashMap;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use serde_json::json;

use crate::domain::{CredentialId, CredentialKind};
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::{usage as usage_rows, StoreError};

/// At most this many ids in one `UPDATE … WHERE id IN (…)`.
const CHUNK: usize = 500;

#[derive(Default)]
pub struct UsageTracker {
    pending: DashMap<CredentialId, DateTime<Utc>>,
    /// First uses that could not be written yet, with the owner and the time.
    first_uses: Mutex<HashMap<CredentialId, (Uuid, DateTime<Utc>)>>,
}

impl UsageTracker {
    pub fn record(&self, credential: CredentialId, at: DateTime<Utc>) {
        let mut entry = self.pending.entry(credential).or_insert(at);
        *entry = (*entry).max(at);
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
        let mut batch = Vec::new();
        self.pending.retain(|credential, at| {
            batch.push((*credential, *at));
            false
        });
        if batch.is_empty() {
            return Ok(written);
        }
        if let Err(e) = write_last_uses(db, &batch).await {
            for (credential, at) in batch {
                self.record(credential, at);
            }
            return Err(e);
        }
        Ok(written + batch.len())
    }
}

/// Writes last-used times in one transaction, grouped by kind and second.
async fn write_last_uses(
    db: &DatabaseConnection,
    batch: &[(CredentialId, DateTime<Utc>)],
) -> Result<(), StoreError> {
    let mut groups: HashMap<(CredentialKind, DateTime<Utc>), Vec<Uuid>> = HashMap::new();
    for (credential, at) in batch {
        let second = at.duration_trunc(TimeDelta::seconds(1)).unwrap_or(*at);
        groups
            .entry((credential.kind, second))
            .or_default()
            .push(credential.id);
    }
    let txn = db.begin().await?;
    for ((kind, at), ids) in &groups {
        for chunk in ids.chunks(CHUNK) {
            usage_rows::touch_all(&txn, *kind, chunk, *at).await?;
        }
    }
    txn.commit().await?;
    Ok(())
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
