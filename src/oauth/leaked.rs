//! GitHub-style leaked-credential reporting: anyone may hand in Trident secrets
//! they found; those that exist are revoked and audited for their owner. The
//! answer never says which existed.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::OAuthDeps;
use crate::credentials::{self, PresentedCredential, Revoker};
use crate::error::AppError;
use crate::store::audit::{self, AuditEvent, Outcome};

/// Most secrets one report may carry.
pub const MAX_CREDENTIALS: usize = 100;

/// Revokes every credential of `presented` that exists, throttled per source address.
pub async fn revoke_leaked(
    deps: &OAuthDeps<'_>,
    presented: &[String],
    source_ip: Option<String>,
) -> Result<(), AppError> {
    let credentials_deps = &deps.credentials;
    let now = credentials_deps.clock.now();
    if let Some(ip) = &source_ip {
        deps.reports_limiter
            .check(
                &format!("leak:{}", crate::infra::throttle::address_key(ip)),
                now,
            )
            .map_err(|w| AppError::TooManyRequests {
                retry_after: w.num_seconds().max(1) as u64,
            })?;
    }
    if presented.is_empty() || presented.len() > MAX_CREDENTIALS {
        return Err(AppError::validation(
            "credentials",
            format!("send 1 to {MAX_CREDENTIALS} credentials"),
        ));
    }
    let txn = credentials_deps.db.write().begin().await?;
    let mut changes = Vec::new();
    for text in presented {
        let Some(credential) = PresentedCredential::recognize(text) else {
            continue;
        };
        let revoked = credentials::revoke(
            credentials_deps,
            &txn,
            &credential,
            Revoker::LeakReport,
            now,
        )
        .await?;
        if let Some(revoked) = revoked {
            audit::record(
                &txn,
                AuditEvent::new("credential.leaked", Outcome::Success)
                    .target(revoked.kind.audit_target(), revoked.id)
                    .source_ip(source_ip.clone())
                    .details(json!({ "owner": revoked.owner, "revoked": true })),
                now,
            )
            .await?;
            changes.push(revoked.change);
        }
    }
    if !changes.is_empty() {
        credentials_deps.changes.commit(txn, &changes).await?;
    }
    Ok(())
}
