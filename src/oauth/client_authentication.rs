//! Client authentication at the OAuth endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic` or `client_secret_post`, one method at a time. An
//! unknown client and a wrong secret cost the same work and fail the same way;
//! a correct secret is never refused for someone else's failures.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use entity::clients::Model as Client;
use serde_json::json;

use super::error::OAuthError;
use super::params::Params;
use super::OAuthDeps;
use crate::credentials::changes::Dependency;
use crate::credentials::client_secrets;
use crate::domain::{CredentialKind, CredentialRef, Grants, Principal};
use crate::error::AppError;
use crate::infra::cache::{Cached, CredentialCache, Weigh};
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::clients;

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

#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Unknown client, wrong or expired secret, or disabled client: one answer.
    #[error("client authentication failed")]
    Failed,
    #[error("too many failed attempts")]
    Throttled { retry_after: u64 },
    /// The database is down: retry after this many seconds.
    #[error("temporarily unavailable")]
    Unavailable { retry_after: u64 },
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<AppError> for ClientAuthError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unavailable { retry_after } => ClientAuthError::Unavailable { retry_after },
            other => ClientAuthError::Unexpected(anyhow::anyhow!(other)),
        }
    }
}

impl ClientAuthError {
    /// The failure as RFC 6749 §5.2 reports it; `basic`: the client tried the
    /// Authorization header (the 401 then carries a Basic challenge).
    pub fn into_oauth(self, basic: bool) -> OAuthError {
        match self {
            ClientAuthError::Failed => OAuthError::InvalidClient { basic },
            ClientAuthError::Throttled { retry_after } => {
                OAuthError::TooManyRequests { retry_after }
            }
            ClientAuthError::Unavailable { retry_after } => {
                OAuthError::TemporarilyUnavailable { retry_after }
            }
            ClientAuthError::Unexpected(e) => OAuthError::from(e),
        }
    }
}

impl From<crate::store::StoreError> for ClientAuthError {
    fn from(err: crate::store::StoreError) -> Self {
        AppError::from(err).into()
    }
}

fn throttle_keys(client_id: &str, source_ip: Option<&str>) -> Vec<String> {
    let mut keys = vec![format!("client:{client_id}")];
    if let Some(ip) = source_ip {
        keys.push(format!("ip:{}", crate::infra::throttle::address_key(ip)));
    }
    keys
}

fn retry_after(wait: Duration) -> ClientAuthError {
    ClientAuthError::Throttled {
        retry_after: wait.num_seconds().max(1) as u64,
    }
}

/// A client that authenticated, and until when the secret it used works
/// (`None`: until rotated).
pub struct Authenticated {
    pub client: AuthenticatedClient,
    pub secret_expires_at: Option<DateTime<Utc>>,
}

/// Authenticates a client by id and secret (RFC 6749 §2.3.1), with its grants.
///
/// The secret is checked first: a client secret carries 256 random bits, so
/// guessing it is hopeless and a lock-out would only let anyone who knows the
/// (public) client_id lock the client out. Failures alone are charged, per
/// client id and per source address, and once a budget is spent further
/// *failures* are answered 429 without being audited one by one (so a flood
/// writes nothing); a correct secret is never refused for someone else's.
pub async fn authenticate(
    deps: &OAuthDeps<'_>,
    client_id: &str,
    presented_secret: &str,
    source_ip: Option<&str>,
) -> Result<Authenticated, ClientAuthError> {
    let now = deps.credentials.clock.now();
    let db = deps.credentials.db.lookup();
    // A client_id we could never have issued is unknown without asking the database
    // (PostgreSQL refuses NUL in text); the rest of the work below is still done.
    let plausible = client_id.len() <= 64 && !client_id.contains('\0');
    // One query whether or not the client exists, and the same comparisons.
    let found = match plausible {
        true => clients::find_for_authentication(db, client_id, now).await?,
        false => None,
    };
    let (client, secrets, grants) = match found {
        Some(f) => (Some(f.client), f.secrets, f.grants),
        None => (None, Vec::new(), Grants::default()),
    };
    let matched = client_secrets::matching(presented_secret, &secrets);
    match (client, matched) {
        (Some(client), Some(secret)) if !client.disabled => Ok(Authenticated {
            secret_expires_at: secret.expires_at,
            client: AuthenticatedClient { client, grants },
        }),
        _ => {
            let mut throttled = Ok(());
            for key in &throttle_keys(client_id, source_ip) {
                throttled = throttled.and(deps.client_auth_limiter.check(key, now));
            }
            throttled.map_err(retry_after)?;
            audit::record(
                deps.credentials.db.write(),
                AuditEvent::new("client.authenticate", Outcome::Failure)
                    .source_ip(source_ip.map(str::to_owned))
                    .details(json!({ "client_id": client_id })),
                now,
            )
            .await?;
            Err(ClientAuthError::Failed)
        }
    }
}

/// The lifetime of the client's access tokens.
pub fn token_ttl(settings: &crate::config::Settings, client: &Client) -> Duration {
    client
        .access_token_ttl_seconds
        .map(Duration::seconds)
        .unwrap_or_else(|| {
            Duration::from_std(settings.client_token_ttl).unwrap_or(Duration::minutes(15))
        })
}

/// A client that proved its secret, with what it may currently do.
pub struct AuthenticatedClient {
    pub client: Client,
    pub grants: Grants,
}

impl AuthenticatedClient {
    /// The client as the caller of an endpoint, authenticated by its secret.
    pub fn principal(&self) -> Principal {
        Principal {
            principal: clients::principal_ref(&self.client),
            credential: CredentialRef {
                kind: CredentialKind::ClientSecret,
                id: self.client.client_id.clone(),
                environment: None,
                expires_at: None,
                follows_principal: true,
            },
            scopes: self.grants.permissions.clone(),
            roles: self.grants.roles.clone(),
        }
    }
}

pub type ClientCache = CredentialCache<AuthenticatedClient>;

impl Weigh for AuthenticatedClient {
    fn weight(&self) -> usize {
        // Two strings and their allocations, then the grants.
        std::mem::size_of::<Self>()
            + self.client.client_id.len()
            + self.client.name.len()
            + 32
            + self.grants.weight()
    }
}

/// [`authenticate`] and the client's grants, from the cache when warm: resource
/// servers authenticate on every introspection call, and this keeps it to a hash.
pub async fn authenticate_cached(
    deps: &OAuthDeps<'_>,
    client_id: &str,
    secret: &str,
    source_ip: Option<&str>,
) -> Result<Arc<AuthenticatedClient>, ClientAuthError> {
    let now = deps.credentials.clock.now();
    let key = ClientCache::key(&[b"client", client_id.as_bytes(), secret.as_bytes()]);
    if let Cached::Accepted(hit) = deps.clients.get(&key, now) {
        return Ok(hit);
    }
    let ticket = deps.clients.ticket();
    let Authenticated {
        client,
        secret_expires_at,
    } = authenticate(deps, client_id, secret, source_ip).await?;
    let authenticated = Arc::new(client);
    let dependencies: Vec<_> =
        std::iter::once(Dependency::Principal(&authenticated.client.client_id))
            .chain(
                authenticated
                    .grants
                    .roles
                    .iter()
                    .map(|r| Dependency::Role(r)),
            )
            .collect();
    deps.clients.insert(
        key,
        authenticated.clone(),
        &dependencies,
        secret_expires_at,
        ticket,
        now,
    );
    Ok(authenticated)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
