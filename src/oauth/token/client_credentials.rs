//! The client credentials grant (RFC 6749 §4.4): scope down-scoping (§3.3),
//! the audience from `resource` (RFC 8707) or `audience`, and an RFC 9068
//! access token for the client, with its roles.

use chrono::Duration;
use uuid::Uuid;

use super::TokenResponse;
use crate::domain::{Audience, ScopeSet};
use crate::keys::jwt::{self, AccessTokenClaims};
use crate::oauth::client_authentication::{self, ClientCredentials};
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::OAuthDeps;

const MAX_AUDIENCE_LEN: usize = 512;

/// The audience: `resource` (an absolute URI, RFC 8707), or `audience`, or Trident itself.
fn audience(issuer: &str, params: &Params) -> Result<String, OAuthError> {
    match (params.get("resource"), params.get("audience")) {
        (Some(_), Some(_)) => Err(OAuthError::InvalidRequest(
            "send resource or audience, not both".into(),
        )),
        (Some(resource), None) => {
            let absolute = resource.split_once("://").is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                    && !rest.is_empty()
            });
            if !absolute
                || resource.contains('#')
                || resource.len() > MAX_AUDIENCE_LEN
                || resource.chars().any(char::is_control)
            {
                return Err(OAuthError::InvalidTarget(
                    "resource must be an absolute URI without a fragment".into(),
                ));
            }
            Ok(resource.to_owned())
        }
        (None, Some(audience)) => {
            if audience.len() > MAX_AUDIENCE_LEN || audience.chars().any(char::is_control) {
                return Err(OAuthError::InvalidTarget("audience is malformed".into()));
            }
            Ok(audience.to_owned())
        }
        (None, None) => Ok(issuer.to_owned()),
    }
}

/// Runs the grant: authenticates the client, checks the scope, signs the token.
pub async fn issue(
    deps: &OAuthDeps<'_>,
    authorization: Option<&str>,
    params: &Params,
    source_ip: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let credentials = ClientCredentials::from_request(authorization, params)?;
    let basic = credentials.basic;
    let authenticated = client_authentication::authenticate_cached(
        deps,
        &credentials.client_id,
        &credentials.secret,
        source_ip,
    )
    .await
    .map_err(|e| e.into_oauth(basic))?;
    let (client, grants) = (&authenticated.client, &authenticated.grants);
    let scope = match params.get("scope") {
        None => grants.permissions.clone(),
        Some(requested) => {
            let requested = ScopeSet::parse_delimited(requested).map_err(|_| {
                OAuthError::InvalidScope(
                    "scope must be space-separated resource:action permissions \
                         (lowercase letters, digits, _ . and -)"
                        .into(),
                )
            })?;
            if let Some(missing) = requested.first_missing_from(&grants.permissions) {
                return Err(OAuthError::InvalidScope(format!(
                    "`{missing}` is not granted to this client"
                )));
            }
            requested
        }
    };
    let settings = deps.credentials.settings;
    let aud = audience(&settings.issuer, params)?;
    let now = deps.credentials.clock.now();
    let ttl: Duration = client_authentication::token_ttl(settings, client);
    let claims = AccessTokenClaims {
        iss: settings.issuer.clone(),
        sub: client.client_id.clone(),
        aud: Audience::One(aud),
        exp: (now + ttl).timestamp(),
        iat: now.timestamp(),
        nbf: None,
        jti: Uuid::new_v4().to_string(),
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        roles: grants.roles.clone(),
        username: None,
        sid: None,
        gen: Some(client.token_generation),
    };
    Ok(TokenResponse {
        access_token: jwt::sign(deps.credentials.keys, &claims)?,
        token_type: "Bearer",
        expires_in: ttl.num_seconds(),
        scope: scope.to_string(),
    })
}
