//! What the kinds that act for a user (API keys, PATs, browser sessions) share:
//! one round trip finds the credential with its owner and the owner's grants,
//! and one function turns that into an inspection.

use chrono::{DateTime, Utc};
use sea_orm::{EntityTrait, FromQueryResult};
use uuid::Uuid;

use super::deps::CredentialDeps;
use super::error::AuthnError;
use super::usage;
use crate::domain::{
    CredentialId, CredentialRef, CredentialStatus, Inspection, Principal, ScopeSet,
};
use crate::secret::OpaqueSecret;
use crate::store::owned::{self, Owned};
use crate::store::users;
use crate::store::StoreError;

/// A credential table whose rows belong to a user.
pub(crate) trait UserBound {
    type Entity: EntityTrait<Model = Self::Row>;
    type Row: FromQueryResult + Send + Sync;
    /// The digest and owner columns.
    const DIGEST: <Self::Entity as EntityTrait>::Column;
    const USER_ID: <Self::Entity as EntityTrait>::Column;

    fn id(row: &Self::Row) -> Uuid;
    fn status(row: &Self::Row, now: DateTime<Utc>) -> CredentialStatus;
    /// The row's own scopes; `None`: whatever the owner holds.
    fn own_scopes(row: &Self::Row) -> Option<&str>;
    /// How the credential names itself to the principal built from it.
    fn credential(row: &Self::Row) -> Result<CredentialRef, AuthnError>;
    fn created_at(row: &Self::Row) -> DateTime<Utc>;
    /// Counted kinds: whether this is the credential's first use.
    fn first_use(row: &Self::Row) -> Option<bool>;
}

/// Inspects a user-bound credential: its owner, effective scopes (its own ∩
/// the owner's current permissions) and metadata, or one uniform refusal.
pub async fn inspect<K: UserBound>(
    deps: &CredentialDeps<'_>,
    secret: &OpaqueSecret,
    now: DateTime<Utc>,
) -> Result<Inspection, AuthnError> {
    let Owned {
        credential: row,
        owner,
        grants,
    } = owned::find_by_digest::<K::Entity>(
        deps.db.lookup(),
        K::DIGEST,
        K::USER_ID,
        secret.digest().as_bytes(),
    )
    .await?
    // Unknown, revoked or expired: for good. A disabled owner may be enabled again.
    .filter(|o| K::status(&o.credential, now) == CredentialStatus::Active)
    .ok_or(AuthnError::Ended)?;
    if owner.disabled {
        return Err(AuthnError::Unauthenticated);
    }
    let scopes = match K::own_scopes(&row) {
        Some(own) => ScopeSet::parse_delimited(own)
            .map_err(|_| AuthnError::Unauthenticated)?
            .intersection(&grants.permissions),
        None => grants.permissions,
    };
    let credential = K::credential(&row)?;
    if let Some(first) = K::first_use(&row) {
        let used = CredentialId {
            kind: credential.kind,
            id: K::id(&row),
        };
        record_use(deps, used, owner.id, first, now).await?;
    }
    Ok(Inspection {
        expires_at: credential.expires_at,
        issued_at: Some(K::created_at(&row)),
        not_before: None,
        jti: None,
        audience: None,
        client_id: None,
        session: None,
        principal: Principal {
            principal: users::principal_ref(&owner),
            credential,
            scopes,
            roles: grants.roles,
        },
    })
}

/// Records a use of `credential` (owned by `owner`): the first one is written and
/// audited at once, later ones wait in memory for the next batch.
pub async fn record_use(
    deps: &CredentialDeps<'_>,
    credential: CredentialId,
    owner: Uuid,
    first: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !first {
        deps.usage.record(credential, now);
        return Ok(());
    }
    match usage::write_first_use(deps.db.write(), credential, owner, now).await {
        Err(e) if e.retry_after().is_some() => {
            tracing::warn!(error = %e, "first use not written yet; deferred to the next batch");
            deps.usage.defer_first_use(credential, owner, now);
            Ok(())
        }
        other => other,
    }
}
