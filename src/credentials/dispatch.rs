//! The only two places an opaque secret's kind picks the code that handles it:
//! one `match` for inspecting, one for revoking. Both are exhaustive, so a new
//! `SecretKind` does not compile until it has a credential kind in each.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::access_tokens;
use super::api_keys::ApiKeys;
use super::browser_sessions::BrowserSessions;
use super::client_secrets::ClientSecrets;
use super::deps::CredentialDeps;
use super::error::AuthnError;
use super::kind::{Credential, Revoked, Revoker};
use super::personal_access_tokens::PersonalAccessTokens;
use super::presented::PresentedCredential;
use super::refresh_tokens::RefreshTokens;
use crate::domain::Inspection;
use crate::secret::{OpaqueSecret, SecretKind};

/// Inspects an opaque secret: the one dispatch of `inspect`.
pub async fn inspect_opaque(
    deps: &CredentialDeps<'_>,
    secret: &OpaqueSecret,
    now: DateTime<Utc>,
) -> Result<Inspection, AuthnError> {
    match secret.kind() {
        SecretKind::LiveApiKey | SecretKind::TestApiKey => {
            ApiKeys::inspect(deps, secret, now).await
        }
        SecretKind::PersonalAccessToken => PersonalAccessTokens::inspect(deps, secret, now).await,
        SecretKind::RefreshToken => RefreshTokens::inspect(deps, secret, now).await,
        SecretKind::BrowserSession => BrowserSessions::inspect(deps, secret, now).await,
        SecretKind::ClientSecret => ClientSecrets::inspect(deps, secret, now).await,
    }
}

/// Revokes a presented credential inside the caller's transaction `db`: the one
/// dispatch of `revoke`.
pub async fn revoke(
    deps: &CredentialDeps<'_>,
    db: &impl ConnectionTrait,
    presented: &PresentedCredential,
    by: Revoker<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Revoked>, AuthnError> {
    let secret = match presented {
        PresentedCredential::AccessToken(token) => {
            return access_tokens::revoke(deps, db, token, by, now).await
        }
        PresentedCredential::Opaque(secret) => secret,
    };
    match secret.kind() {
        SecretKind::LiveApiKey | SecretKind::TestApiKey => {
            ApiKeys::revoke(db, secret, by, now).await
        }
        SecretKind::PersonalAccessToken => PersonalAccessTokens::revoke(db, secret, by, now).await,
        SecretKind::RefreshToken => RefreshTokens::revoke(db, secret, by, now).await,
        SecretKind::BrowserSession => BrowserSessions::revoke(db, secret, by, now).await,
        SecretKind::ClientSecret => ClientSecrets::revoke(db, secret, by, now).await,
    }
}
