//! The credentials Trident issues and accepts, a file per kind, each behind one
//! trait ([`Credential`]: inspect and revoke). An opaque secret's kind picks its
//! code in exactly two places below, one per operation; a JWT access token is
//! recognised by its shape and handled by `access_tokens`.
//!
//! Nothing here imports the protocol (`oauth`) or the HTTP layer; every use
//! case takes [`CredentialDeps`], never the whole application state.

pub mod access_tokens;
pub mod api_keys;
pub mod browser_sessions;
pub mod changes;
pub mod client_secrets;
pub mod delegation;
mod deps;
mod error;
pub mod inspect;
pub mod personal_access_tokens;
pub mod presented;
pub mod refresh_tokens;
pub mod sessions;
pub mod usage;
mod user_bound;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

pub use deps::CredentialDeps;
pub use error::AuthnError;
pub use presented::PresentedCredential;

use crate::domain::{CredentialKind, Inspection, Principal};
use crate::secret::{OpaqueSecret, SecretKind};
use changes::Change;

/// A credential's or client's name: see [`crate::domain::check_label`].
pub fn validate_name(name: &str) -> Result<(), crate::error::AppError> {
    crate::domain::check_label(name).map_err(|e| crate::error::AppError::validation("name", e.0))
}

/// Who asks for a revocation.
#[derive(Clone, Copy)]
pub enum Revoker<'a> {
    /// RFC 7009: the caller, for credentials it owns (a test credential only
    /// for its test credentials).
    Owner(&'a Principal),
    /// Anyone reporting a leaked secret: whatever exists is revoked.
    LeakReport,
}

/// A credential a revocation ended.
#[derive(Debug)]
pub struct Revoked {
    pub kind: CredentialKind,
    /// The id the audit log names it by (a row id, a session's id, a `jti`).
    pub id: String,
    /// Its principal, for the leak report's audit row.
    pub owner: Option<String>,
    /// What caches must forget.
    pub change: Change,
}

/// What a kind of opaque credential implements. Dispatch is by the secret's
/// kind (an enum, one exhaustive `match` per operation below: a new
/// `SecretKind` does not compile until both name its code), so the trait is
/// never used as `dyn` and its futures need no `Send` bound.
pub(crate) trait Credential {
    /// Whom `secret` stands for now, or one uniform refusal.
    async fn inspect(
        deps: &CredentialDeps<'_>,
        secret: &OpaqueSecret,
        now: DateTime<Utc>,
    ) -> Result<Inspection, AuthnError>;

    /// Ends `secret` if `by` may; `None` when nothing was revoked (unknown,
    /// already revoked, or not the caller's), which callers answer alike.
    async fn revoke(
        db: &impl ConnectionTrait,
        secret: &OpaqueSecret,
        by: Revoker<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Revoked>, AuthnError>;
}

/// Inspects an opaque secret: the one dispatch of `inspect`.
pub async fn inspect_opaque(
    deps: &CredentialDeps<'_>,
    secret: &OpaqueSecret,
    now: DateTime<Utc>,
) -> Result<Inspection, AuthnError> {
    match secret.kind() {
        SecretKind::LiveApiKey | SecretKind::TestApiKey => {
            api_keys::ApiKeys::inspect(deps, secret, now).await
        }
        SecretKind::PersonalAccessToken => {
            personal_access_tokens::PersonalAccessTokens::inspect(deps, secret, now).await
        }
        SecretKind::RefreshToken => refresh_tokens::RefreshTokens::inspect(deps, secret, now).await,
        SecretKind::BrowserSession => {
            browser_sessions::BrowserSessions::inspect(deps, secret, now).await
        }
        SecretKind::ClientSecret => client_secrets::ClientSecrets::inspect(deps, secret, now).await,
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
            api_keys::ApiKeys::revoke(db, secret, by, now).await
        }
        SecretKind::PersonalAccessToken => {
            personal_access_tokens::PersonalAccessTokens::revoke(db, secret, by, now).await
        }
        SecretKind::RefreshToken => {
            refresh_tokens::RefreshTokens::revoke(db, secret, by, now).await
        }
        SecretKind::BrowserSession => {
            browser_sessions::BrowserSessions::revoke(db, secret, by, now).await
        }
        SecretKind::ClientSecret => {
            client_secrets::ClientSecrets::revoke(db, secret, by, now).await
        }
    }
}
