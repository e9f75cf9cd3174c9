//! Token revocation, RFC 7009, for every Trident token the caller owns: its own
//! credentials, or the tokens issued to it. Unknown, foreign or already revoked
//! tokens change nothing and answer the same, so the endpoint reveals nothing.
//! The revocation and its audit row commit together.

use sea_orm::TransactionTrait;

use super::error::OAuthError;
use super::OAuthDeps;
use crate::credentials::{self, PresentedCredential, Revoker};
use crate::domain::Principal;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::StoreError;

/// RFC 7009 §2.1: revokes `token` if `caller` may.
pub async fn revoke(
    deps: &OAuthDeps<'_>,
    caller: &Principal,
    token: &str,
) -> Result<(), OAuthError> {
    let deps = &deps.credentials;
    let now = deps.clock.now();
    let Some(presented) = PresentedCredential::recognize(token) else {
        return Ok(());
    };
    let txn = deps.db.write().begin().await.map_err(StoreError::from)?;
    let Some(revoked) =
        credentials::revoke(deps, &txn, &presented, Revoker::Owner(caller), now).await?
    else {
        return Ok(());
    };
    audit::record(
        &txn,
        AuditEvent::new("token.revoke", Outcome::Success)
            .actor(&caller.principal)
            .target(revoked.kind.audit_target(), revoked.id),
        now,
    )
    .await?;
    deps.changes
        .commit(txn, &[revoked.change])
        .await
        .map_err(StoreError::from)?;
    Ok(())
}
