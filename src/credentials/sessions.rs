//! First-party user sessions, the way djangorestframework-simplejwt works:
//! username + password → a short-lived access JWT and an opaque refresh token.
//! Refresh rotates: the presented token is spent, a successor is issued in the same
//! family, and presenting a spent token again revokes the whole family (reuse
//! detection, OAuth 2.0 Security BCP §4.14.2). Concurrent refreshes of one token
//! yield at most one successor: spending is a conditional UPDATE.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::changes::Change;
use super::deps::CredentialDeps;
use crate::config::Settings;
use crate::domain::{Audience, CredentialKind, Password, Principal, Username};
use crate::error::AppError;
use crate::keys::jwt::FIRST_PARTY_CLIENT_ID;
use crate::keys::jwt::{self, AccessTokenClaims};
use crate::secret::{OpaqueSecret, SecretKind};
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::{browser_sessions, refresh_tokens, users};

pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: OpaqueSecret,
    pub expires_in: u64,
}

/// Checks a username and password, throttled like every login and at equal cost
/// for unknown users; failures are audited. The user, if the password is right
/// and the account enabled.
pub async fn check_password(
    deps: &CredentialDeps<'_>,
    username: &str,
    password: Password,
    source_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<entity::users::Model, AppError> {
    // Budgets are per account (its comparison form, so `Alice` and `alice` share one).
    let account = Username::key_of(username).unwrap_or_else(|| username.to_owned());
    deps.logins
        .admit(&account, source_ip, now)
        .map_err(|wait| AppError::TooManyRequests {
            retry_after: wait.num_seconds().max(1) as u64,
        })?;
    // The place in the argon2 queue comes before any database work: when hashing
    // is saturated, a login is shed for the price of the rate-limit check instead
    // of a user lookup as well, which under a flood cost more than a core, and
    // held briefly so that clients retrying at once cannot spin
    // (BENCHMARKS.md, overload at 16 × cores).
    let queued = deps.hasher.reserve_or_pause().await?;
    let db = deps.db.read();
    // No valid username holds a NUL (and PostgreSQL refuses one in text): unknown user.
    let user = match username.contains('\0') {
        true => None,
        false => users::find_by_username(db, username).await?,
    };
    let verified = deps
        .hasher
        .verify_reserved(
            queued,
            password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    match user {
        Some(user) if verified && !user.disabled => {
            deps.logins.succeeded(&account, source_ip);
            Ok(user)
        }
        other => {
            deps.logins.failed(&account, source_ip, now);
            let mut event = AuditEvent::new("user.login", Outcome::Failure)
                .source_ip(source_ip.map(str::to_owned))
                .details(json!({ "username": username }));
            if let Some(user) = &other {
                event = event.target("user", user.id.to_string());
            }
            audit::record(deps.db.write(), event, now).await?;
            Err(AppError::Unauthenticated)
        }
    }
}

/// Checks the password and opens a new session.
pub async fn login(
    deps: &CredentialDeps<'_>,
    username: &str,
    password: Password,
    source_ip: Option<String>,
) -> Result<TokenPair, AppError> {
    let now = deps.clock.now();
    let user = check_password(deps, username, password, source_ip.as_deref(), now).await?;
    let txn = deps.db.write().begin().await?;
    let family = refresh_tokens::create_family(&txn, user.id, now).await?;
    let pair = issue_pair(deps, &txn, &user, (family, now), now).await?;
    let actor = users::principal_ref(&user);
    audit::record(
        &txn,
        AuditEvent::new("user.login", Outcome::Success)
            .actor(&actor)
            .target("session", family.to_string())
            .source_ip(source_ip),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(pair)
}

/// When a session that began at `started` ends, however often it is refreshed
/// (ASVS 10.4.8: an absolute lifetime; `TRIDENT_SESSION_MAX_LIFETIME`).
pub fn session_end(settings: &Settings, started: DateTime<Utc>) -> DateTime<Utc> {
    let max = Duration::from_std(settings.session_max_lifetime).unwrap_or(Duration::days(30));
    started + max
}

/// Whether a refresh-token family (a login session) still stands.
pub fn session_alive(
    settings: &Settings,
    family: &entity::refresh_token_families::Model,
    now: DateTime<Utc>,
) -> bool {
    family.revoked_at.is_none() && session_end(settings, family.created_at) > now
}

async fn issue_pair(
    deps: &CredentialDeps<'_>,
    db: &impl ConnectionTrait,
    user: &entity::users::Model,
    (family, started): (Uuid, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<TokenPair, AppError> {
    let refresh = OpaqueSecret::generate(SecretKind::RefreshToken);
    let refresh_ttl =
        Duration::from_std(deps.settings.refresh_token_ttl).map_err(anyhow::Error::from)?;
    // Nothing the session issues outlives it.
    let ends = session_end(deps.settings, started);
    let refresh_expires = (now + refresh_ttl).min(ends);
    refresh_tokens::insert_token(db, family, &refresh.digest(), now, refresh_expires).await?;
    let grants = users::grants(db, user.id).await?;
    let access_ttl =
        Duration::from_std(deps.settings.access_token_ttl).map_err(anyhow::Error::from)?;
    let access_expires = (now + access_ttl).min(ends);
    let ttl = (access_expires - now).num_seconds().max(0) as u64;
    let claims = AccessTokenClaims {
        iss: deps.settings.issuer.clone(),
        sub: user.id.to_string(),
        aud: Audience::One(deps.settings.issuer.clone()),
        exp: access_expires.timestamp(),
        iat: now.timestamp(),
        nbf: None,
        jti: Uuid::new_v4().to_string(),
        client_id: FIRST_PARTY_CLIENT_ID.to_owned(),
        scope: grants.permissions.to_string(),
        roles: grants.roles,
        username: Some(user.username.clone()),
        sid: Some(family.to_string()),
        gen: None,
    };
    Ok(TokenPair {
        access_token: jwt::sign(deps.keys, &claims)?,
        refresh_token: refresh,
        expires_in: ttl,
    })
}

/// Spends a refresh token for a new pair.
pub async fn refresh(
    deps: &CredentialDeps<'_>,
    presented: &str,
    source_ip: Option<String>,
) -> Result<TokenPair, AppError> {
    let now = deps.clock.now();
    let token = OpaqueSecret::parse(presented)
        .filter(|t| t.kind() == SecretKind::RefreshToken)
        .ok_or(AppError::Unauthenticated)?;
    let txn = deps.db.write().begin().await?;
    let Some((row, family)) = refresh_tokens::find_by_digest(&txn, &token.digest()).await? else {
        return Err(AppError::Unauthenticated);
    };
    if !session_alive(deps.settings, &family, now) || row.expires_at <= now {
        return Err(AppError::Unauthenticated);
    }
    if row.used_at.is_some() || !refresh_tokens::claim(&txn, row.id, now).await? {
        refresh_tokens::revoke_family(&txn, family.id, "refresh_token_reuse", now).await?;
        audit::record(
            &txn,
            AuditEvent::new("session.refresh_token_reused", Outcome::Failure)
                .target("session", family.id.to_string())
                .source_ip(source_ip)
                .details(json!({ "user_id": family.user_id, "family_revoked": true })),
            now,
        )
        .await?;
        let change = Change::Credential {
            kind: CredentialKind::RefreshToken,
            id: family.id,
        };
        deps.changes.commit(txn, &[change]).await?;
        return Err(AppError::Unauthenticated);
    }
    let user = users::find(&txn, family.user_id)
        .await?
        .filter(|u| !u.disabled);
    let Some(user) = user else {
        return Err(AppError::Unauthenticated);
    };
    let pair = issue_pair(deps, &txn, &user, (family.id, family.created_at), now).await?;
    // Only the spent refresh token changed, and refresh tokens are never cached.
    txn.commit().await?;
    Ok(pair)
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored (RFC 7009 §2.2).
pub async fn logout(deps: &CredentialDeps<'_>, presented: &str) -> Result<(), AppError> {
    let now = deps.clock.now();
    let Some(token) =
        OpaqueSecret::parse(presented).filter(|t| t.kind() == SecretKind::RefreshToken)
    else {
        return Ok(());
    };
    let txn = deps.db.write().begin().await?;
    if let Some((_, family)) = refresh_tokens::find_by_digest(&txn, &token.digest()).await? {
        if refresh_tokens::revoke_family(&txn, family.id, "logout", now).await? {
            audit::record(
                &txn,
                AuditEvent::new("session.logout", Outcome::Success)
                    .target("session", family.id.to_string()),
                now,
            )
            .await?;
            let change = Change::Credential {
                kind: CredentialKind::RefreshToken,
                id: family.id,
            };
            deps.changes.commit(txn, &[change]).await?;
        }
    }
    Ok(())
}

/// Ends every session of the user: refresh tokens, the access tokens of those
/// sessions, and every signed-in browser.
pub async fn logout_all(deps: &CredentialDeps<'_>, caller: &Principal) -> Result<u64, AppError> {
    super::delegation::check_live(caller)?;
    let user = &caller.principal;
    let now = deps.clock.now();
    let id = Uuid::parse_str(&user.id).map_err(|_| AppError::NotFound)?;
    let txn = deps.db.write().begin().await?;
    let revoked = refresh_tokens::revoke_all_for_user(&txn, id, "logout_all", now).await?
        + browser_sessions::delete_for_user(&txn, id).await?;
    audit::record(
        &txn,
        AuditEvent::new("session.logout_all", Outcome::Success)
            .actor(user)
            .target("user", user.id.clone())
            .details(json!({ "sessions_revoked": revoked })),
        now,
    )
    .await?;
    deps.changes.commit(txn, &[Change::User(id)]).await?;
    Ok(revoked)
}
