//! The token endpoint (RFC 6749 §3.2) for the client credentials grant (§4.4):
//! form parsing with the RFC's rules, client authentication by
//! `client_secret_basic` or `client_secret_post` (§2.3.1), scope down-scoping
//! (§3.3), the audience from `resource` (RFC 8707) or `audience`, and an RFC 9068
//! access token.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Duration;
use serde::Serialize;
use uuid::Uuid;

use super::error::OAuthError;
use super::jwt::{self, AccessTokenClaims, Audience};
use crate::credentials::clients;
use crate::domain::ScopeSet;
use crate::state::AppState;

/// Largest token request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
const MAX_AUDIENCE_LEN: usize = 512;

/// The grant types Trident implements; anything else is `unsupported_grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
}

impl GrantType {
    pub const SUPPORTED: &'static [&'static str] = &["client_credentials"];

    fn parse(s: &str) -> Result<Self, OAuthError> {
        match s {
            "client_credentials" => Ok(GrantType::ClientCredentials),
            _ => Err(OAuthError::UnsupportedGrantType),
        }
    }
}

/// The parameters of the endpoints in this module (RFC 6749, 7009, 7662, 8707).
const KNOWN_PARAMETERS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "resource",
    "audience",
    "token",
    "token_type_hint",
];

/// Form parameters, each present at most once (§3.2: "MUST NOT be included more than once").
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.insert(name.to_string(), value.to_string()).is_some() {
                // Only a name we define is repeated back; anything else is input.
                let named = KNOWN_PARAMETERS.iter().find(|known| **known == name);
                return Err(OAuthError::InvalidRequest(match named {
                    Some(known) => format!("the `{known}` parameter is repeated"),
                    None => "a parameter is repeated".to_owned(),
                }));
            }
        }
        Ok(Self(params))
    }

    /// A parameter; an empty value counts as omitted (§3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// How the client authenticated (RFC 6749 §2.3.1).
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: String,
    pub basic: bool,
}

/// `application/x-www-form-urlencoded` decoding, as §2.3.1 asks for both Basic parts.
fn form_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn parse_basic(value: &str) -> Result<(String, String), OAuthError> {
    let invalid = || OAuthError::InvalidClient { basic: true };
    let (scheme, encoded) = value.split_once(' ').ok_or_else(invalid)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidRequest(
            "unsupported Authorization scheme".into(),
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    Ok((
        form_decode(id).ok_or_else(invalid)?,
        form_decode(secret).ok_or_else(invalid)?,
    ))
}

impl ClientCredentials {
    /// Finds the one way the client authenticated; more than one is `invalid_request`.
    pub fn from_request(authorization: Option<&str>, params: &Params) -> Result<Self, OAuthError> {
        let posted_secret = params.get("client_secret");
        match authorization {
            Some(header) => {
                let (client_id, secret) = parse_basic(header)?;
                if posted_secret.is_some() {
                    return Err(OAuthError::InvalidRequest(
                        "use one client authentication method, not Basic and client_secret together".into(),
                    ));
                }
                if params
                    .get("client_id")
                    .is_some_and(|posted| posted != client_id)
                {
                    return Err(OAuthError::InvalidRequest(
                        "client_id differs from the Basic credentials".into(),
                    ));
                }
                Ok(Self {
                    client_id,
                    secret,
                    basic: true,
                })
            }
            None => match (params.get("client_id"), posted_secret) {
                (Some(client_id), Some(secret)) => Ok(Self {
                    client_id: client_id.to_owned(),
                    secret: secret.to_owned(),
                    basic: false,
                }),
                _ => Err(OAuthError::InvalidClient { basic: false }),
            },
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

/// The audience: `resource` (an absolute URI, RFC 8707), or `audience`, or Trident itself.
fn audience(state: &AppState, params: &Params) -> Result<String, OAuthError> {
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
        (None, None) => Ok(state.settings.issuer.clone()),
    }
}

/// Runs the grant: authenticates the client, checks the scope, signs the token.
pub async fn issue(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
    source_ip: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let grant = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is required".into()))?;
    let GrantType::ClientCredentials = GrantType::parse(grant)?;
    let credentials = ClientCredentials::from_request(authorization, params)?;
    let basic = credentials.basic;
    let authenticated = clients::authenticate_cached(
        state,
        &credentials.client_id,
        &credentials.secret,
        source_ip,
    )
    .await
    .map_err(|e| OAuthError::from_client_auth(e, basic))?;
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
    let aud = audience(state, params)?;
    let now = state.clock.now();
    let ttl: Duration = clients::token_ttl(state, client);
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
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
        access_token: jwt::sign(&state.keys, &claims)?,
        token_type: "Bearer",
        expires_in: ttl.num_seconds(),
        scope: scope.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_invalid_requests() {
        assert!(matches!(
            Params::parse(b"grant_type=a&grant_type=b"),
            Err(OAuthError::InvalidRequest(_))
        ));
        let params = Params::parse(b"grant_type=client_credentials&scope=").unwrap();
        assert_eq!(params.get("grant_type"), Some("client_credentials"));
        assert_eq!(
            params.get("scope"),
            None,
            "an empty value counts as omitted"
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let raw = "cli_x:a%2Bb%25c%3Ad+e%C3%A9";
        let header = format!("Basic {}", STANDARD.encode(raw));
        let (id, secret) = parse_basic(&header).unwrap();
        assert_eq!(id, "cli_x");
        assert_eq!(secret, "a+b%c:d eé");
    }

    #[test]
    fn one_authentication_method_at_a_time() {
        let header = format!("Basic {}", STANDARD.encode("id:secret"));
        let both = Params::parse(b"client_secret=secret").unwrap();
        assert!(matches!(
            ClientCredentials::from_request(Some(&header), &both),
            Err(OAuthError::InvalidRequest(_))
        ));
        let none = Params::parse(b"").unwrap();
        assert!(matches!(
            ClientCredentials::from_request(None, &none),
            Err(OAuthError::InvalidClient { basic: false })
        ));
        let post = Params::parse(b"client_id=id&client_secret=s").unwrap();
        assert!(ClientCredentials::from_request(None, &post)
            .is_ok_and(|c| !c.basic && c.client_id == "id"));
    }

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
