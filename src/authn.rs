//! One authentication path: whatever credential a request presents becomes an
//! [`Inspection`] — the principal it stands for and the token's metadata — or one
//! uniform refusal. Credentials are told apart by their format before any I/O.
//! Introspection (RFC 7662) and every protected route share this path and its cache.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::credentials::clients::client_ref;
use crate::credentials::sessions::{self, user_ref};
use crate::credentials::usage::UsedCredential;
use crate::credentials::{api_keys, browser_sessions, pats};
use crate::domain::{CredentialKind, CredentialRef, Inspection, Principal, ScopeSet, TokenType};
use crate::error::AppError;
use crate::infra::cache::CredentialCache;
use crate::oauth::jwt::{self, AccessTokenClaims};
use crate::oauth::FIRST_PARTY_CLIENT_ID;
use crate::secret::{OpaqueSecret, SecretKind};
use crate::state::AppState;
use crate::store::{clients, refresh_tokens, revoked_jtis, users};

/// A credential as recognised from its format alone.
#[derive(Debug)]
pub enum PresentedCredential {
    /// A JWT access token (three base64url segments).
    AccessToken(String),
    /// One of Trident's opaque secrets.
    Opaque(OpaqueSecret),
}

impl PresentedCredential {
    /// Recognises a bearer credential; `None` when it cannot be any Trident credential.
    pub fn recognize(token: &str) -> Option<Self> {
        if let Some(secret) = OpaqueSecret::parse(token) {
            return Some(Self::Opaque(secret));
        }
        let looks_like_jwt = token.len() <= jwt::MAX_TOKEN_LEN
            && token.split('.').count() == 3
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        looks_like_jwt.then(|| Self::AccessToken(token.to_owned()))
    }

    fn text(&self) -> &str {
        match self {
            PresentedCredential::AccessToken(token) => token,
            PresentedCredential::Opaque(secret) => secret.reveal(),
        }
    }
}

pub type InspectionCache = CredentialCache<Inspection>;

/// Inspects a presented credential, from the cache when warm.
pub async fn inspect(
    state: &AppState,
    presented: &PresentedCredential,
) -> Result<Arc<Inspection>, AppError> {
    let now = state.clock.now();
    // Refresh tokens change on every use: never cached.
    let cacheable = !matches!(presented, PresentedCredential::Opaque(s) if s.kind() == SecretKind::RefreshToken);
    let key = InspectionCache::key(&[b"credential", presented.text().as_bytes()]);
    if cacheable {
        if let Some(hit) = state.inspections.get(&key, now) {
            if let Ok(id) = Uuid::parse_str(&hit.principal.credential.id) {
                match hit.token_type {
                    TokenType::ApiKey => state.usage.record(UsedCredential::ApiKey(id), now),
                    TokenType::PersonalAccessToken => {
                        state.usage.record(UsedCredential::Pat(id), now)
                    }
                    TokenType::AccessToken
                    | TokenType::RefreshToken
                    | TokenType::BrowserSession => {}
                }
            }
            return Ok(hit);
        }
    }
    let generation = state.inspections.generation();
    let inspection = Arc::new(match presented {
        PresentedCredential::AccessToken(token) => inspect_access_token(state, token, now).await?,
        PresentedCredential::Opaque(secret) => match secret.kind() {
            SecretKind::LiveApiKey | SecretKind::TestApiKey => {
                api_keys::inspect(state, secret, now).await?
            }
            SecretKind::RefreshToken => sessions::inspect_refresh_token(state, secret, now).await?,
            SecretKind::PersonalAccessToken => pats::inspect(state, secret, now).await?,
            SecretKind::BrowserSession => browser_sessions::inspect(state, secret, now).await?,
            // Client secrets authenticate clients; they are not tokens.
            SecretKind::ClientSecret => return Err(AppError::Unauthenticated),
        },
    });
    if cacheable {
        state.inspections.insert(
            key,
            inspection.clone(),
            inspection.expires_at,
            generation,
            now,
        );
    }
    Ok(inspection)
}

/// Resolves a credential presented to Trident's own API.
pub async fn resolve(
    state: &AppState,
    presented: PresentedCredential,
) -> Result<Principal, AppError> {
    let inspection = inspect(state, &presented).await?;
    let accepted = match inspection.token_type {
        // A refresh token only buys new tokens; it never authorises a request.
        TokenType::RefreshToken => false,
        // RFC 9068 §4: Trident's API accepts only access tokens meant for it.
        TokenType::AccessToken => inspection
            .audience
            .as_ref()
            .is_some_and(|aud| aud.contains(&state.settings.issuer)),
        TokenType::ApiKey | TokenType::PersonalAccessToken | TokenType::BrowserSession => true,
    };
    if accepted {
        Ok(inspection.principal.clone())
    } else {
        Err(AppError::Unauthenticated)
    }
}

fn timestamp(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

async fn inspect_access_token(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Inspection, AppError> {
    let db = state.db.read();
    let claims = jwt::verify(&state.keys, db, token, &state.settings.issuer, now)
        .await
        .map_err(|e| match e {
            jwt::JwtError::Unexpected(e) => AppError::from(e),
            rejected => {
                tracing::debug!(reason = %rejected, "access token rejected");
                AppError::Unauthenticated
            }
        })?;
    if revoked_jtis::is_revoked(db, &claims.jti).await? {
        return Err(AppError::Unauthenticated);
    }
    let principal = if claims.client_id == FIRST_PARTY_CLIENT_ID {
        user_session_principal(state, &claims).await?
    } else {
        client_principal(state, &claims).await?
    };
    Ok(Inspection {
        principal,
        token_type: TokenType::AccessToken,
        expires_at: timestamp(claims.exp),
        issued_at: timestamp(claims.iat),
        not_before: claims.nbf.and_then(timestamp),
        jti: Some(claims.jti.clone()),
        audience: Some(claims.aud.clone()),
        client_id: Some(claims.client_id.clone()),
    })
}

/// An M2M token stands for its client while the client exists and is enabled,
/// with the token's scopes narrowed to the client's current permissions.
async fn client_principal(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<Principal, AppError> {
    if claims.sub != claims.client_id {
        return Err(AppError::Unauthenticated);
    }
    let db = state.db.read();
    let client = clients::find_by_client_id(db, &claims.client_id)
        .await?
        .filter(|c| !c.disabled)
        .filter(|c| claims.gen.unwrap_or(0) == c.token_generation)
        .ok_or(AppError::Unauthenticated)?;
    let grants = clients::grants(db, client.id).await?;
    let token_scopes =
        ScopeSet::parse_delimited(&claims.scope).map_err(|_| AppError::Unauthenticated)?;
    Ok(Principal {
        principal: client_ref(&client),
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
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<Principal, AppError> {
    let db = state.db.read();
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| AppError::Unauthenticated)?;
    let family_id = claims
        .sid
        .as_deref()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or(AppError::Unauthenticated)?;
    let user = users::find(db, user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthenticated)?;
    let now = state.clock.now();
    let session_live = refresh_tokens::find_family(db, family_id)
        .await?
        .is_some_and(|f| f.user_id == user_id && sessions::session_alive(state, &f, now));
    if !session_live {
        return Err(AppError::Unauthenticated);
    }
    let grants = users::grants(db, user_id).await?;
    let token_scopes =
        ScopeSet::parse_delimited(&claims.scope).map_err(|_| AppError::Unauthenticated)?;
    Ok(Principal {
        principal: user_ref(&user),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_told_apart_by_format() {
        let pat = OpaqueSecret::generate(SecretKind::PersonalAccessToken);
        assert!(matches!(
            PresentedCredential::recognize(pat.reveal()),
            Some(PresentedCredential::Opaque(_))
        ));
        assert!(matches!(
            PresentedCredential::recognize("eyJ.eyJ.sig"),
            Some(PresentedCredential::AccessToken(_))
        ));
        for junk in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "a b.c.d",
            "tri_pat_short",
            "eyJ.eyJ.s\u{0}g",
        ] {
            assert!(PresentedCredential::recognize(junk).is_none(), "{junk:?}");
        }
    }
}
