//! The one name of a credential kind. Its wire names (RFC 7662 `token_type`,
//! the audit log's target types, `/api/v1/me`'s `credential.kind`) all derive
//! from it, so adding a kind makes the compiler point at every place that must
//! say something about it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::TokenType;

/// The kinds of credential Trident issues and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// `Authorization: Api-Key …` or `X-API-Key`.
    ApiKey,
    /// A personal access token minted by a user.
    PersonalAccessToken,
    /// A user's session access JWT from `/api/v1/auth/token`.
    UserAccessToken,
    /// An M2M access JWT from the client-credentials grant.
    ClientAccessToken,
    /// A user's refresh token (seen only by introspection).
    RefreshToken,
    /// A client authenticated with its secret (at the OAuth endpoints).
    ClientSecret,
    /// A user signed in to the web UI (the session cookie).
    BrowserSession,
}

impl CredentialKind {
    /// RFC 7662 `token_type` of an active introspection answer.
    pub const fn token_type(self) -> TokenType {
        match self {
            CredentialKind::ApiKey => TokenType::ApiKey,
            CredentialKind::PersonalAccessToken => TokenType::PersonalAccessToken,
            CredentialKind::UserAccessToken | CredentialKind::ClientAccessToken => {
                TokenType::AccessToken
            }
            CredentialKind::RefreshToken => TokenType::RefreshToken,
            CredentialKind::ClientSecret => TokenType::ClientSecret,
            CredentialKind::BrowserSession => TokenType::BrowserSession,
        }
    }

    /// The target type of the audit events about a credential of this kind (a
    /// refresh token is audited as the session, its family, that it belongs to).
    pub const fn audit_target(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "api_key",
            CredentialKind::PersonalAccessToken => "personal_access_token",
            CredentialKind::UserAccessToken | CredentialKind::ClientAccessToken => "access_token",
            CredentialKind::RefreshToken => "session",
            CredentialKind::ClientSecret => "client_secret",
            CredentialKind::BrowserSession => "browser_session",
        }
    }

    /// The first word of the audit actions about a credential of this kind
    /// (`api_key.create`, `pat.revoke`, `api_key.first_use`).
    pub const fn audit_action_prefix(self) -> &'static str {
        match self {
            CredentialKind::PersonalAccessToken => "pat",
            other => other.audit_target(),
        }
    }
}

/// A stored credential, by kind and row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialId {
    pub kind: CredentialKind,
    pub id: Uuid,
}
