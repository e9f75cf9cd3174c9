//! Personal access tokens: a user delegates a chosen subset of its permissions,
//! for a bounded time. Effective scopes are the token's own ∩ the owner's
//! *current* permissions.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::api_keys::{grantable_scopes, owner_id};
use super::sessions::user_ref;
use super::usage::{self, UsedCredential};
use super::{delegation, validate_name};
use crate::domain::Permission;
use crate::domain::{CredentialKind, CredentialRef, CredentialStatus, Principal, ScopeSet};
use crate::domain::{Inspection, TokenType};
use crate::error::AppError;
use crate::secret::{OpaqueSecret, SecretKind};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::owned::{self, Owned};
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
    state: &AppState,
    caller: &Principal,
    token: NewToken,
) -> Result<(Pat, OpaqueSecret), AppError> {
    caller.require(Permission::TokensWrite)?;
    let user_id = owner_id(caller)?;
    let now = state.clock.now();
    validate_name(&token.name)?;
    if token.scopes.is_empty() {
        return Err(AppError::validation("scopes", "choose at least one scope"));
    }
    delegation::check_live(caller)?;
    delegation::check_lifetime(caller, Some(token.expires_at))?;
    let scopes = grantable_scopes(caller, Some(token.scopes))?.unwrap_or_default();
    let max = Duration::days(i64::from(state.settings.pat_max_lifetime_days));
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
    let txn = state.db.write().begin().await?;
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
    state: &AppState,
    caller: &Principal,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<Pat>, AppError> {
    caller.require(Permission::TokensRead)?;
    let user_id = owner_id(caller)?;
    Ok(store::list(state.db.read(), user_id, before, limit).await?)
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

pub async fn get(state: &AppState, caller: &Principal, id: Uuid) -> Result<Pat, AppError> {
    caller.require(Permission::TokensRead)?;
    own_token(caller, id, state.db.read()).await
}

pub async fn revoke(state: &AppState, caller: &Principal, id: Uuid) -> Result<(), AppError> {
    caller.require(Permission::TokensWrite)?;
    delegation::check_live(caller)?;
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
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
    state.commit_credential_change(txn).await?;
    Ok(())
}

/// Inspects a presented PAT: its owner, effective scopes and metadata, or one uniform refusal.
pub async fn inspect(
    state: &AppState,
    secret: &OpaqueSecret,
    now: DateTime<Utc>,
) -> Result<Inspection, AppError> {
    let Owned {
        credential: token,
        owner: user,
        grants,
    } = owned::find_by_digest::<entity::personal_access_tokens::Entity>(
        state.db.read(),
        entity::personal_access_tokens::Column::Digest,
        entity::personal_access_tokens::Column::UserId,
        secret.digest().as_bytes(),
    )
    .await?
    .filter(|o| status(&o.credential, now) == CredentialStatus::Active && !o.owner.disabled)
    .ok_or(AppError::Unauthenticated)?;
    let scopes = ScopeSet::parse_delimited(&token.scopes)
        .map_err(|_| AppError::Unauthenticated)?
        .intersection(&grants.permissions);
    usage::record_use(
        state,
        UsedCredential::Pat(token.id),
        token.user_id,
        token.last_used_at.is_none(),
        now,
    )
    .await?;
    Ok(Inspection {
        principal: Principal {
            principal: user_ref(&user),
            credential: CredentialRef {
                kind: CredentialKind::PersonalAccessToken,
                id: token.id.to_string(),
                environment: None,
                expires_at: Some(token.expires_at),
                follows_principal: false,
            },
            scopes,
            roles: grants.roles,
        },
        token_type: TokenType::PersonalAccessToken,
        expires_at: Some(token.expires_at),
        issued_at: Some(token.created_at),
        not_before: None,
        jti: None,
        audience: None,
        client_id: None,
    })
}
