//! JWT access tokens (RFC 9068) as credentials: a user's session token stands
//! for its user while the session lives, an M2M token for its client while the
//! client is enabled and its token generation unchanged; either is narrowed to
//! what its principal holds now, and either can be revoked by its `jti`.
//! The token format (claims, signing, verification) is in `keys::jwt`.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::changes::Change;
use super::deps::CredentialDeps;
use super::error::AuthnError;
use super::kind::{Revoked, Revoker};
use super::sessions::session_alive;
use crate::domain::{
    CredentialKind, CredentialRef, Environment, Inspection, Principal, PrincipalKind, ScopeSet,
};
use crate::keys::jwt::{self, AccessTokenClaims, JwtError};
use crate::store::{clients, refresh_tokens, revoked_jtis, users};

pub use crate::keys::jwt::MAX_TOKEN_LEN;

pub use crate::keys::jwt::FIRST_PARTY_CLIENT_ID;

fn timestamp(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// Verifies signature and registered claims, mapping a refusal to the uniform answer.
async fn verified(
    deps: &CredentialDeps<'_>,
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<AccessTokenClaims, AuthnError> {
    match jwt::verify(deps.keys, db, token, &deps.settings.issuer, now).await {
        Ok(claims) => Ok(claims),
        Err(JwtError::Unexpected(e)) => Err(AuthnError::from(e)),
        // Not for good: a key another node just made, a clock a little behind.
        Err(rejected @ (JwtError::UnknownKey | JwtError::NotYetValid)) => {
            tracing::debug!(reason = %rejected, "access token rejected");
            Err(AuthnError::Unauthenticated)
        }
        Err(rejected) => {
            tracing::debug!(reason = %rejected, "access token rejected");
            Err(AuthnError::Ended)
        }
    }
}

pub async fn inspect(
    deps: &CredentialDeps<'_>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Inspection, AuthnError> {
    let db = deps.db.lookup();
    let claims = verified(deps, db, token, now).await?;
    if revoked_jtis::is_revoked(db, &claims.jti).await? {
        return Err(AuthnError::Ended);
    }
    let principal = if claims.client_id == FIRST_PARTY_CLIENT_ID {
        user_session_principal(deps, &claims, now).await?
    } else {
        client_principal(deps, &claims).await?
    };
    Ok(Inspection {
        principal,
        expires_at: timestamp(claims.exp),
        issued_at: timestamp(claims.iat),
        not_before: claims.nbf.and_then(timestamp),
        jti: Some(claims.jti.clone()),
        audience: Some(claims.aud.clone()),
        client_id: Some(claims.client_id.clone()),
        session: claims
            .sid
            .as_deref()
            .and_then(|sid| Uuid::parse_str(sid).ok())
            .map(|sid| sid.to_string()),
    })
}

/// An M2M token stands for its client while the client exists and is enabled,
/// with the token's scopes narrowed to the client's current permissions.
async fn client_principal(
    deps: &CredentialDeps<'_>,
    claims: &AccessTokenClaims,
) -> Result<Principal, AuthnError> {
    if claims.sub != claims.client_id {
        return Err(AuthnError::Unauthenticated);
    }
    let db = deps.db.lookup();
    // One round trip: the client with its grants.
    let clients::ForAuthentication { client, grants, .. } =
        clients::find_for_authentication(db, &claims.client_id, deps.clock.now())
            .await?
            // Deleted, or its tokens' generation ended (disabled, a secret
            // leaked): for good, even once it is enabled again.
            .filter(|c| claims.gen.unwrap_or(0) == c.client.token_generation)
            .ok_or(AuthnError::Ended)?;
    if client.disabled {
        return Err(AuthnError::Unauthenticated);
    }
    let token_scopes =
        ScopeSet::parse_delimited(&claims.scope).map_err(|_| AuthnError::Unauthenticated)?;
    Ok(Principal {
        principal: clients::principal_ref(&client),
        credential: CredentialRef {
            kind: CredentialKind::ClientAccessToken,
            id: claims.jti.clone(),
            environment: None,
            expires_at: timestamp(claims.exp),
            follows_principal: false,
        },
        scopes: token_scopes.intersection(&grants.permissions),
        roles: grants.roles,
    })
}

/// A user session token stands for its user while the user is enabled and the
/// session (refresh-token family) is alive.
async fn user_session_principal(
    deps: &CredentialDeps<'_>,
    claims: &AccessTokenClaims,
    now: DateTime<Utc>,
) -> Result<Principal, AuthnError> {
    let db = deps.db.lookup();
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| AuthnError::Unauthenticated)?;
    let family_id = claims
        .sid
        .as_deref()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or(AuthnError::Unauthenticated)?;
    let user = users::find(db, user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AuthnError::Unauthenticated)?;
    let session_live = refresh_tokens::find_family(db, family_id)
        .await?
        .is_some_and(|f| f.user_id == user_id && session_alive(deps.settings, &f, now));
    if !session_live {
        // A session that ended (signed out, revoked, expired) never resumes.
        return Err(AuthnError::Ended);
    }
    let grants = users::grants(db, user_id).await?;
    let token_scopes =
        ScopeSet::parse_delimited(&claims.scope).map_err(|_| AuthnError::Unauthenticated)?;
    Ok(Principal {
        principal: users::principal_ref(&user),
        credential: CredentialRef {
            kind: CredentialKind::UserAccessToken,
            id: claims.jti.clone(),
            environment: None,
            expires_at: timestamp(claims.exp),
            follows_principal: true,
        },
        scopes: token_scopes.intersection(&grants.permissions),
        roles: grants.roles,
    })
}

/// Puts the token's `jti` on the deny-list until the token would have expired:
/// for its owner (its user, or the client it was issued to), or for anyone
/// reporting it leaked. `Ok(None)`: nothing was revoked.
pub async fn revoke(
    deps: &CredentialDeps<'_>,
    db: &impl ConnectionTrait,
    token: &str,
    by: Revoker<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Revoked>, AuthnError> {
    let claims = match verified(deps, db, token, now).await {
        Ok(claims) => claims,
        Err(AuthnError::Unauthenticated | AuthnError::Ended) => return Ok(None),
        Err(other) => return Err(other),
    };
    let mine = match by {
        Revoker::LeakReport => true,
        Revoker::Owner(caller) if claims.client_id == FIRST_PARTY_CLIENT_ID => {
            caller.owns(PrincipalKind::User, &claims.sub, Environment::Live)
        }
        Revoker::Owner(caller) => {
            caller.owns(PrincipalKind::Client, &claims.client_id, Environment::Live)
        }
    };
    let Some(expires_at) = timestamp(claims.exp).filter(|_| mine) else {
        return Ok(None);
    };
    let revoked = revoked_jtis::revoke(db, &claims.jti, expires_at, now).await?;
    let kind = if claims.client_id == FIRST_PARTY_CLIENT_ID {
        CredentialKind::UserAccessToken
    } else {
        CredentialKind::ClientAccessToken
    };
    Ok(revoked.then(|| Revoked {
        kind,
        id: claims.jti.clone(),
        owner: Some(claims.sub),
        change: Change::AccessToken { jti: claims.jti },
    }))
}
