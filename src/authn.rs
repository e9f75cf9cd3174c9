//! One authentication path: whatever credential a request presents becomes a
//! [`Principal`] — or one uniform refusal. Credentials are told apart by their
//! format before any I/O; later credential kinds plug in here.

use uuid::Uuid;

use crate::credentials::api_keys;
use crate::credentials::clients::client_ref;
use crate::credentials::sessions::user_ref;
use crate::credentials::{OpaqueSecret, SecretKind};
use crate::domain::{CredentialKind, CredentialRef, Principal, ScopeSet};
use crate::error::AppError;
use crate::oauth::jwt::{self, AccessTokenClaims};
use crate::oauth::FIRST_PARTY_CLIENT_ID;
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
}

/// Resolves a presented credential to the principal it currently stands for.
pub async fn resolve(
    state: &AppState,
    presented: PresentedCredential,
) -> Result<Principal, AppError> {
    match presented {
        PresentedCredential::AccessToken(token) => resolve_access_token(state, &token).await,
        PresentedCredential::Opaque(secret) => match secret.kind() {
            // Refresh tokens and client secrets are never accepted as API credentials.
            SecretKind::RefreshToken | SecretKind::ClientSecret => Err(AppError::Unauthenticated),
            SecretKind::LiveApiKey | SecretKind::TestApiKey => {
                api_keys::authenticate(state, &secret).await
            }
            // Personal access tokens (#5) resolve here once they exist.
            SecretKind::PersonalAccessToken => Err(AppError::Unauthenticated),
        },
    }
}

async fn resolve_access_token(state: &AppState, token: &str) -> Result<Principal, AppError> {
    let now = state.clock.now();
    let db = state.db.read();
    let claims = jwt::verify(&state.keys, db, token, &state.settings.issuer, now)
        .await
        .map_err(|e| match e {
            jwt::JwtError::Unexpected(e) => AppError::Unexpected(e),
            rejected => {
                tracing::debug!(reason = %rejected, "access token rejected");
                AppError::Unauthenticated
            }
        })?;
    if claims.client_id == FIRST_PARTY_CLIENT_ID {
        resolve_user_session(state, &claims).await
    } else {
        resolve_client_token(state, &claims).await
    }
}

/// An M2M token is accepted by Trident's own API only when Trident is among its
/// audiences (RFC 9068 §4), its client is still enabled, and it was not revoked.
async fn resolve_client_token(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<Principal, AppError> {
    if !claims.aud.contains(&state.settings.issuer) || claims.sub != claims.client_id {
        return Err(AppError::Unauthenticated);
    }
    let db = state.db.read();
    let client = clients::find_by_client_id(db, &claims.client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or(AppError::Unauthenticated)?;
    if revoked_jtis::is_revoked(db, &claims.jti).await? {
        return Err(AppError::Unauthenticated);
    }
    let grants = clients::grants(db, client.id).await?;
    let token_scopes =
        ScopeSet::parse_delimited(&claims.scope).map_err(|_| AppError::Unauthenticated)?;
    Ok(Principal {
        principal: client_ref(&client),
        credential: CredentialRef {
            kind: CredentialKind::ClientAccessToken,
            id: claims.jti.clone(),
            environment: None,
        },
        scopes: token_scopes.intersection(&grants.permissions),
        roles: grants.roles,
    })
}

async fn resolve_user_session(
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
    let session_live = refresh_tokens::find_family(db, family_id)
        .await?
        .is_some_and(|f| f.user_id == user_id && f.revoked_at.is_none());
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
        },
        scopes: token_scopes.intersection(&grants.permissions),
        roles: grants.roles,
    })
}

impl Principal {
    /// Authorises in one line: `principal.require("users:write")?`.
    pub fn require(&self, scope: &str) -> Result<(), AppError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(scope.to_owned()))
        }
    }
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
