//! The token endpoint (RFC 6749 §3.2): the grant type picks the grant, each in
//! its own file; the client authenticates before anything else (as in fosite).
//! Errors follow §5.2.

mod client_credentials;

use serde::Serialize;

use super::error::OAuthError;
use super::params::Params;
use super::OAuthDeps;

/// Largest token request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// The grant types Trident implements; anything else is `unsupported_grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
}

impl GrantType {
    pub const SUPPORTED: &'static [&'static str] = &["client_credentials"];

    /// The grant a request asks for; an unknown value is `unsupported_grant_type`.
    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        match s {
            "client_credentials" => Ok(GrantType::ClientCredentials),
            _ => Err(OAuthError::UnsupportedGrantType),
        }
    }
}

/// RFC 6749 §5.1.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// Runs the grant the request asks for.
pub async fn issue(
    deps: &OAuthDeps<'_>,
    authorization: Option<&str>,
    params: &Params,
    source_ip: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let grant = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is required".into()))?;
    match GrantType::parse(grant)? {
        GrantType::ClientCredentials => {
            client_credentials::issue(deps, authorization, params, source_ip).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_client_credentials_is_supported() {
        for other in [
            "password",
            "authorization_code",
            "refresh_token",
            "CLIENT_CREDENTIALS",
        ] {
            assert!(
                matches!(
                    GrantType::parse(other),
                    Err(OAuthError::UnsupportedGrantType)
                ),
                "{other}"
            );
        }
    }
}
