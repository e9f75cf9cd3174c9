//! Personal access tokens: a user delegates a chosen subset of its permissions,
//! for a bounded time. Effective scopes are the token's own ∩ the owner's
//! *current* permissions.

use chrono::{DateTime, Duration, Utc};
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
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::personal_access_tokens::{self as store, NewPat, Pat};
use crate::store::Page;

pub struct NewToken {
    pub name: String,
    pub scopes: ScopeSet,
    pub expires_at: DateTime<Utc>,
}

pub fn status(token: &Pat, now: DateTime<Utc>) -> CredentialStatus {
    CredentialStatus::at(token.revoked_at, Some(token.expires_at), now)
}

pub async fn create(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    token: NewToken,
) -> Result<(Pat, OpaqueSecret), AppError> {
    caller.require(Permission::TokensWrite)?;
    let user_id = owner_id(caller)?;
    let now = deps.clock.now();
    validate_name(&token.name)?;
    if token.scopes.is_empty() {
        return Err(AppError::validation("scopes", "choose at least one scope"));
    }
    delegation::check_live(caller)?;
    delegation::check_lifetime(caller, Some(token.expires_at))?;
    let scopes = grantable_scopes(caller, Some(token.scopes))?.unwrap_or_default();
    let max = Duration::days(i64::from(deps.settings.pat_max_lifetime_days));
    if token.expires_at <= now {
        return Err(AppError::validation("expires_at", "must be in the future"));
    }
    if token.expires_at > now + max {
        return Err(AppError::validation(
            "expires_at",
            format!("at most {} days ahead", max.num_days()),
        ));
    }
    let secret = OpaqueSecret::generate(SecretKind::PersonalAccessToken);
    let txn = deps.db.write().begin().await?;
    let row = store::insert(
        &txn,
        NewPat {
            user_id,
            name: &token.name,
            secret: &secret,
            scopes: &scopes,
            expires_at: token.expires_at,
            now,
        },
    )
    .await?;
    audit::record(
        &txn,
        AuditEvent::new("pat.create", Outcome::Success)
            .actor(&caller.principal)
            .target("personal_access_token", row.id.to_string())
            .details(json!({ "scopes": row.scopes, "expires_at": row.expires_at })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((row, secret))
}

pub async fn list(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<Pat>, AppError> {
    caller.require(Permission::TokensRead)?;
    let user_id = owner_id(caller)?;
    Ok(store::list(deps.db.read(), user_id, before, limit).await?)
}

/// One of the caller's own tokens; anyone else's is "not found".
async fn own_token(
    caller: &Principal,
    id: Uuid,
    db: &impl sea_orm::ConnectionTrait,
) -> Result<Pat, AppError> {
    store::find(db, id)
        .await?
        .filter(|t| caller.is_user(&t.user_id.to_string()))
        .ok_or(AppError::NotFound)
}

pub async fn get(deps: &CredentialDeps<'_>, caller: &Principal, id: Uuid) -> Result<Pat, AppError> {
    caller.require(Permission::TokensRead)?;
    own_token(caller, id, deps.db.read()).await
}

pub async fn revoke(
    deps: &CredentialDeps<'_>,
    caller: &Principal,
    id: Uuid,
) -> Result<(), AppError> {
    caller.require(Permission::TokensWrite)?;
    delegation::check_live(caller)?;
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
    let token = own_token(caller, id, &txn).await?;
    if store::ROWS.revoke(&txn, token.id, now).await? {
        audit::record(
            &txn,
            AuditEvent::new("pat.revoke", Outcome::Success)
                .actor(&caller.principal)
                .target("personal_access_token", token.id.to_string()),
            now,
        )
        .await?;
    }
    let change = Change::Credential {
        kind: CredentialKind::PersonalAccessToken,
        id: token.id,
    };
    deps.changes.commit(txn, &[change]).await?;
    Ok(())
}

/// Personal access tokens as a credential kind.
pub struct PersonalAccessTokens;

impl UserBound for PersonalAccessTokens {
    type Entity = entity::personal_access_tokens::Entity;
    type Row = Pat;
    const DIGEST: entity::personal_access_tokens::Column =
        entity::personal_access_tokens::Column::Digest;
    const USER_ID: entity::personal_access_tokens::Column =
        entity::personal_access_tokens::Column::UserId;

    fn id(token: &Pat) -> Uuid {
        token.id
    }

    fn status(token: &Pat, now: DateTime<Utc>) -> CredentialStatus {
        status(token, now)
    }

    fn own_scopes(token: &Pat) -> Option<&str> {
        Some(&token.scopes)
    }

    fn credential(token: &Pat) -> Result<CredentialRef, AuthnError> {
        Ok(CredentialRef {
            kind: CredentialKind::PersonalAccessToken,
            id: token.id.to_string(),
            environment: None,
            expires_at: Some(token.expires_at),
            follows_principal: false,
        })
    }

    fn created_at(token: &Pat) -> DateTime<Utc> {
        token.created_at
    }

    fn first_use(token: &Pat) -> Option<bool> {
        Some(token.last_used_at.is_none())
    }
}

impl Credential for PersonalAccessTokens {
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
        let Some(token) = store::find_by_digest(db, secret.digest().as_bytes()).await? else {
            return Ok(None);
        };
        if let Revoker::Owner(caller) = by {
            // PATs are live credentials.
            if !caller.owns(
                PrincipalKind::User,
                &token.user_id.to_string(),
                Environment::Live,
            ) {
                return Ok(None);
            }
        }
        let revoked = store::ROWS.revoke(db, token.id, now).await?;
        Ok(revoked.then(|| Revoked {
            kind: CredentialKind::PersonalAccessToken,
            id: token.id.to_string(),
            owner: Some(token.user_id.to_string()),
            change: Change::Credential {
                kind: CredentialKind::PersonalAccessToken,
                id: token.id,
            },
        }))
    }
}
