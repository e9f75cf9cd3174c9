//! API keys bound to users: the worker story of the seeds. A key acts for its
//! owner with the key's scopes ∩ the owner's *current* permissions; rotation runs
//! the old and the new key side by side for a grace period.

use chrono::{DateTime, Duration, Utc};
use entity::api_keys::Model as ApiKey;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::changes::Change;
use super::delegation::{self, grantable_scopes, owner_id};
use super::deps::CredentialDeps;
use super::error::AuthnError;
use super::kind::{validate_name, Credential, Revoked, Revoker};
use super::user_bound::{self, UserBound};
use crate::domain::{
    CredentialKind, CredentialRef, CredentialStatus, Environment, Inspection, Permission,
    Principal, PrincipalKind, ScopeSet,
};
use crate::error::AppError;
use crate::secret::{OpaqueSecret, SecretKind};
use crate::store::api_keys::{self, NewApiKey};
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::Page;

/// Default time the old key keeps working after a rotation.
pub const DEFAULT_GRACE: Duration = Duration::hours(24);
/// Longest grace period a rotation may ask for.
pub const MAX_GRACE: Duration = Duration::days(30);
/// The name of the key issued when a user is created.
pub const DEFAULT_KEY_NAME: &str = "default";

pub struct NewKey {
    pub name: String,
    pub environment: Environment,
    /// `None`: follow the owner's permissions.
    pub scopes: Option<ScopeSet>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn secret_kind(environment: Environment) -> SecretKind {
    match environment {
        Environment::Live => SecretKind::LiveApiKey,
        Environment::Test => SecretKind::TestApiKey,
    }
}

/// The key's environment; a stored value that is neither is a corrupt row, and says so.
pub fn environment_of(key: &ApiKey) -> Result<Environment, AppError> {
    Environment::parse(&key.environment).ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!(
            "API key {} has the stored environment {:?}",
            key.id,
            key.environment
        ))
    })
}

pub fn status(key: &ApiKey, now: DateTime<Utc>) -> CredentialStatus {
    CredentialStatus::at(key.revoked_at, key.expires_at, now)
}

async fn insert_key(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    key: &NewKey,
    rotated_from: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(ApiKey, OpaqueSecret), AppError> {
    let secret = OpaqueSecret::generate(secret_kind(key.environment));
    let row = api_keys::insert(
        db,
        NewApiKey {
            user_id,
            name: &key.name,
            environment: key.environment.as_str(),
            secret: &secret,
            scopes: key.scopes.as_ref(),
            expires_at: key.expires_at,
            rotated_from,
            now,
        },
    )
    .await?;
    Ok((row, secret))
}

/// Issues the live key every new user gets (inside the transaction that creates the user).
pub async fn issue_default_key(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(ApiKey, OpaqueSecret), AppError> {
    let key = NewKey {
        name: DEFAULT_KEY_NAME.to_owned(),
        environment: Environment::Live,
        scopes: None,
        expires_at: None,
    };
    let (row, secret) = insert_key(db, user_id, &key, None, now).await?;
    audit::record(
        db,
        AuditEvent::new("api_key.create", Outcome::Success)
            .target("api_key", row.id.to_string())
            .details(json!({ "user_id": user_id, "environment": "live", "automatic": true })),
        now,
    )
    .await?;
    Ok((row, secret))
}

pub async fn create(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    key: NewKey,
) -> Result<(ApiKey, OpaqueSecret), AppError> {
    caller.require(Permission::ApiKeysWrite)?;
    let user_id = owner_id(caller)?;
    let now = deps.clock.now();
    validate_name(&key.name)?;
    if key.expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::validation("expires_at", "must be in the future"));
    }
    delegation::check_environment(caller, key.environment)?;
    delegation::check_lifetime(caller, key.expires_at)?;
    let key = NewKey {
        scopes: grantable_scopes(caller, key.scopes)?,
        ..key
    };
    let txn = deps.db.write().begin().await?;
    let (row, secret) = insert_key(&txn, user_id, &key, None, now).await?;
    audit::record(
        &txn,
        AuditEvent::new("api_key.create", Outcome::Success)
            .actor(&caller.principal)
            .target("api_key", row.id.to_string())
            .details(json!({ "environment": row.environment, "scopes": row.scopes })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((row, secret))
}

/// A key the caller may see: its own, or any with `api_keys:admin`. Others are "not found".
async fn visible_key(
    caller: &Principal,
    id: Uuid,
    db: &impl ConnectionTrait,
) -> Result<ApiKey, AppError> {
    let key = api_keys::find(db, id).await?.ok_or(AppError::NotFound)?;
    if caller.is_user(&key.user_id.to_string()) || caller.has(Permission::ApiKeysAdmin) {
        Ok(key)
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn list(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    user_filter: Option<Uuid>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<ApiKey>, AppError> {
    caller.require(Permission::ApiKeysRead)?;
    let own = caller.principal.kind == PrincipalKind::User
        && user_filter.is_none_or(|u| caller.is_user(&u.to_string()));
    let user = if own {
        Some(owner_id(caller)?)
    } else {
        caller.require(Permission::ApiKeysAdmin)?;
        user_filter
    };
    Ok(api_keys::list(deps.db.read(), user, before, limit).await?)
}

pub async fn get(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    id: Uuid,
) -> Result<ApiKey, AppError> {
    caller.require(Permission::ApiKeysRead)?;
    visible_key(caller, id, deps.db.read()).await
}

/// Issues a successor with the same name, environment and scopes; the old key
/// keeps working for `grace`, then stops.
pub async fn rotate(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    id: Uuid,
    grace: Duration,
) -> Result<(ApiKey, OpaqueSecret), AppError> {
    caller.require(Permission::ApiKeysWrite)?;
    if grace < Duration::zero() || grace > MAX_GRACE {
        return Err(AppError::validation(
            "grace_seconds",
            format!("must be between 0 and {}", MAX_GRACE.num_seconds()),
        ));
    }
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
    let old = api_keys::find(&txn, id).await?.ok_or(AppError::NotFound)?;
    // Only the owner may rotate: the new secret is theirs to see.
    if !caller.is_user(&old.user_id.to_string()) {
        return Err(AppError::NotFound);
    }
    if status(&old, now) != CredentialStatus::Active {
        return Err(AppError::Conflict(
            "only an active key can be rotated".into(),
        ));
    }
    if api_keys::has_successor(&txn, id).await? {
        return Err(AppError::Conflict(
            "this key was already rotated; rotate its successor".into(),
        ));
    }
    let scopes = old
        .scopes
        .as_deref()
        .map(ScopeSet::parse_delimited)
        .transpose()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("stored scopes of key {id}: {e}")))?;
    // The successor is handed to the caller: it must not be worth more than the caller.
    delegation::check_environment(caller, environment_of(&old)?)?;
    delegation::check_reissue(caller, scopes.as_ref())?;
    delegation::check_lifetime(caller, old.expires_at)?;
    let successor = NewKey {
        name: old.name.clone(),
        environment: environment_of(&old)?,
        scopes,
        expires_at: old.expires_at,
    };
    let (row, secret) = insert_key(&txn, old.user_id, &successor, Some(old.id), now).await?;
    let grace_end = now + grace;
    if old.expires_at.is_none_or(|e| e > grace_end) {
        api_keys::expire_at(&txn, old.id, grace_end).await?;
    }
    audit::record(
        &txn,
        AuditEvent::new("api_key.rotate", Outcome::Success)
            .actor(&caller.principal)
            .target("api_key", old.id.to_string())
            .details(json!({ "successor": row.id, "grace_seconds": grace.num_seconds() })),
        now,
    )
    .await?;
    let change = Change::Credential {
        kind: CredentialKind::ApiKey,
        id: old.id,
    };
    deps.changes.commit(txn, &[change]).await?;
    Ok((row, secret))
}

pub async fn revoke(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    id: Uuid,
) -> Result<(), AppError> {
    caller.require(Permission::ApiKeysWrite)?;
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
    let key = visible_key(caller, id, &txn).await?;
    delegation::check_environment(caller, environment_of(&key)?)?;
    if api_keys::ROWS.revoke(&txn, key.id, now).await? {
        audit::record(
            &txn,
            AuditEvent::new("api_key.revoke", Outcome::Success)
                .actor(&caller.principal)
                .target("api_key", key.id.to_string())
                .details(json!({ "user_id": key.user_id })),
            now,
        )
        .await?;
    }
    let change = Change::Credential {
        kind: CredentialKind::ApiKey,
        id: key.id,
    };
    deps.changes.commit(txn, &[change]).await?;
    Ok(())
}

/// API keys as a credential kind.
pub struct ApiKeys;

impl UserBound for ApiKeys {
    type Entity = entity::api_keys::Entity;
    type Row = ApiKey;
    const DIGEST: entity::api_keys::Column = entity::api_keys::Column::Digest;
    const USER_ID: entity::api_keys::Column = entity::api_keys::Column::UserId;

    fn id(key: &ApiKey) -> Uuid {
        key.id
    }

    fn status(key: &ApiKey, now: DateTime<Utc>) -> CredentialStatus {
        status(key, now)
    }

    fn own_scopes(key: &ApiKey) -> Option<&str> {
        key.scopes.as_deref()
    }

    fn credential(key: &ApiKey) -> Result<CredentialRef, AuthnError> {
        Ok(CredentialRef {
            kind: CredentialKind::ApiKey,
            id: key.id.to_string(),
            environment: Some(
                environment_of(key).map_err(|e| AuthnError::Unexpected(anyhow::anyhow!(e)))?,
            ),
            expires_at: key.expires_at,
            follows_principal: key.scopes.is_none(),
        })
    }

    fn created_at(key: &ApiKey) -> DateTime<Utc> {
        key.created_at
    }

    fn first_use(key: &ApiKey) -> Option<bool> {
        Some(key.last_used_at.is_none())
    }
}

impl Credential for ApiKeys {
    async fn inspect(
        deps: &CredentialDeps<'_>,
        secret: &OpaqueSecret,
        now: DateTime<Utc>,
    ) -> Result<Inspection, AuthnError> {
        user_bound::inspect::<Self>(deps, secret, now).await
    }

    async fn revoke(
        db: &impl ConnectionTrait,
        secret: &OpaqueSecret,
        by: Revoker<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Revoked>, AuthnError> {
        let Some(key) = api_keys::find_by_digest(db, secret.digest().as_bytes()).await? else {
            return Ok(None);
        };
        if let Revoker::Owner(caller) = by {
            let environment =
                environment_of(&key).map_err(|e| AuthnError::Unexpected(anyhow::anyhow!(e)))?;
            if !caller.owns(PrincipalKind::User, &key.user_id.to_string(), environment) {
                return Ok(None);
            }
        }
        let revoked = api_keys::ROWS.revoke(db, key.id, now).await?;
        Ok(revoked.then(|| Revoked {
            kind: CredentialKind::ApiKey,
            id: key.id.to_string(),
            owner: Some(key.user_id.to_string()),
            change: Change::Credential {
                kind: CredentialKind::ApiKey,
                id: key.id,
            },
        }))
    }
}
