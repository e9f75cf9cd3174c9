//! What inspecting a credential finds: whom it stands for and what the token says.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Principal;

/// The audience of an access token (RFC 7519 §4.1.3): one value or several.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(all) => all.iter().any(|a| a == aud),
        }
    }
}

/// RFC 7662 `token_type` values: how [`CredentialKind::token_type`](super::CredentialKind::token_type)
/// names each kind on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    ApiKey,
    PersonalAccessToken,
    AccessToken,
    RefreshToken,
    /// A client's secret: it authenticates the client, and is never a token.
    ClientSecret,
    /// A web UI session: Trident's own, never active at introspection.
    BrowserSession,
}

/// A currently valid credential: whom it stands for and what the token says.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub principal: Principal,
    pub expires_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub not_before: Option<DateTime<Utc>>,
    pub jti: Option<String>,
    pub audience: Option<Audience>,
    /// The OAuth client the token was issued to (JWTs and refresh tokens).
    pub client_id: Option<String>,
    /// A user's access token: the session (refresh-token family) it belongs
    /// to, whose end ends the token.
    pub session: Option<String>,
}

impl Inspection {
    /// The kind of the credential inspected.
    pub fn kind(&self) -> super::CredentialKind {
        self.principal.credential.kind
    }
}
