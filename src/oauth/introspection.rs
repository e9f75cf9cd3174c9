//! Token introspection, RFC 7662, and revocation, RFC 7009, for every Trident
//! token, plus who may call them. No actix here.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::error::OAuthError;
use super::jwt::{self, Audience};
use super::token::{ClientCredentials, Params};
use crate::authn::{self, PresentedCredential};
use crate::credentials::{clients, delegation};
use crate::domain::{Environment, Permission, Principal, PrincipalKind, PrincipalRef};
use crate::domain::{Inspection, TokenType};
use crate::error::AppError;
use crate::secret::{OpaqueSecret, SecretKind};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::StoreError;
use crate::store::{
    api_keys, browser_sessions, clients as client_store, personal_access_tokens, refresh_tokens,
    revoked_jtis,
};
use sea_orm::TransactionTrait;

/// How the caller of an OAuth endpoint authenticated.
pub struct CallerAuth<'a> {
    pub authorization: Option<&'a str>,
    pub api_key_header: Option<&'a str>,
    pub source_ip: Option<&'a str>,
}

fn app_error(err: AppError) -> OAuthError {
    match err {
        AppError::Unauthenticated | AppError::BadRequest(_) => {
            OAuthError::InvalidClient { basic: false }
        }
        other => OAuthError::from(other),
    }
}

/// Authenticates the caller: a client by `client_secret_basic`/`client_secret_post`,
/// or any Trident credential presented as `Bearer`, `Api-Key` or `X-API-Key`.
pub async fn authenticate_caller(
    state: &AppState,
    auth: CallerAuth<'_>,
    params: &Params,
) -> Result<Principal, OAuthError> {
    let basic = auth.authorization.filter(|h| {
        h.split_once(' ')
            .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
    });
    if basic.is_some() || params.get("client_secret").is_some() {
        let credentials = ClientCredentials::from_request(basic, params)?;
        let authenticated = clients::authenticate_cached(
            state,
            &credentials.client_id,
            &credentials.secret,
            auth.source_ip,
        )
        .await
        .map_err(|e| OAuthError::from_client_auth(e, credentials.basic))?;
        return Ok(authenticated.principal());
    }
    let token = match (auth.authorization, auth.api_key_header) {
        (Some(header), None) => header
            .split_once(' ')
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("api-key")
            })
            .map(|(_, token)| token.trim()),
        (None, Some(key)) => Some(key.trim()),
        _ => None,
    };
    let presented = token
        .and_then(PresentedCredential::recognize)
        .ok_or(OAuthError::InvalidClient { basic: false })?;
    authn::resolve(state, presented).await.map_err(app_error)
}

/// An active introspection answer (RFC 7662 §2.2) with Trident's extensions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActiveToken {
    pub active: bool,
    #[schema(value_type = String)]
    pub token_type: TokenType,
    pub scope: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub aud: Option<Audience>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[schema(value_type = Object)]
    pub principal: PrincipalRef,
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub environment: Option<Environment>,
    /// The id of the API key, PAT or refresh token; the `jti` of a JWT.
    pub credential_id: String,
}

/// Either an active answer or exactly `{"active": false}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum IntrospectionResponse {
    Active(Box<ActiveToken>),
    Inactive { active: bool },
}

impl IntrospectionResponse {
    pub const INACTIVE: IntrospectionResponse = IntrospectionResponse::Inactive { active: false };
}

fn active(state: &AppState, inspection: &Inspection) -> ActiveToken {
    let p = &inspection.principal;
    let is_user = p.principal.kind == PrincipalKind::User;
    ActiveToken {
        active: true,
        token_type: inspection.token_type,
        scope: p.scopes.to_string(),
        sub: p.principal.id.clone(),
        exp: inspection.expires_at.map(|t| t.timestamp()),
        iat: inspection.issued_at.map(|t| t.timestamp()),
        nbf: inspection.not_before.map(|t| t.timestamp()),
        iss: state.settings.issuer.clone(),
        jti: inspection.jti.clone(),
        aud: inspection.audience.clone(),
        client_id: inspection.client_id.clone(),
        username: is_user.then(|| p.principal.name.clone()),
        principal: p.principal.clone(),
        roles: p.roles.clone(),
        environment: p.credential.environment,
        credential_id: p.credential.id.clone(),
    }
}

/// RFC 7662 §2: what `token` is, for a caller holding `tokens:introspect`.
/// `token_type_hint` is not needed: the token's format says what it is.
pub async fn introspect(
    state: &AppState,
    caller: &Principal,
    token: &str,
) -> Result<IntrospectionResponse, OAuthError> {
    if !caller.has(Permission::TokensIntrospect) {
        return Err(OAuthError::InsufficientScope(Permission::TokensIntrospect));
    }
    let caller_key = format!("{:?}:{}", caller.principal.kind, caller.principal.id);
    if let Err(wait) = state
        .introspection_limiter
        .check(&caller_key, state.clock.now())
    {
        return Err(OAuthError::TooManyRequests {
            retry_after: wait.num_seconds().max(1) as u64,
        });
    }
    let Some(presented) = PresentedCredential::recognize(token) else {
        return Ok(IntrospectionResponse::INACTIVE);
    };
    match authn::inspect(state, &presented).await {
        // A web UI session cookie is Trident's own business, not a token to vouch for.
        Ok(inspection) if inspection.token_type == TokenType::BrowserSession => {
            Ok(IntrospectionResponse::INACTIVE)
        }
        Ok(inspection) => Ok(IntrospectionResponse::Active(Box::new(active(
            state,
            &inspection,
        )))),
        Err(AppError::Unauthenticated) => Ok(IntrospectionResponse::INACTIVE),
        Err(other) => Err(app_error(other)),
    }
}

/// Whether `caller` may revoke a credential of principal `id` in `environment`:
/// its own, and a test credential only its test credentials.
fn owns(caller: &Principal, kind: PrincipalKind, id: &str, environment: Environment) -> bool {
    caller.principal.kind == kind
        && caller.principal.id == id
        && delegation::check_environment(caller, environment).is_ok()
}

/// RFC 7009 §2.1: revokes `token` if the caller may (its own credentials or the
/// tokens issued to it). Unknown, foreign or already revoked tokens change
/// nothing and answer the same, so the endpoint reveals nothing.
pub async fn revoke(state: &AppState, caller: &Principal, token: &str) -> Result<(), OAuthError> {
    let now = state.clock.now();
    let Some(presented) = PresentedCredential::recognize(token) else {
        return Ok(());
    };
    // The revocation and its audit row commit together, or neither does.
    let txn = state.db.write().begin().await.map_err(StoreError::from)?;
    let db = &txn;
    let target: Option<(&'static str, String)> = match &presented {
        PresentedCredential::Opaque(secret) => match secret.kind() {
            SecretKind::LiveApiKey | SecretKind::TestApiKey => {
                match api_keys::find_by_digest(db, secret.digest().as_bytes()).await? {
                    Some(key)
                        if owns(
                            caller,
                            PrincipalKind::User,
                            &key.user_id.to_string(),
                            crate::credentials::api_keys::environment_of(&key)?,
                        ) =>
                    {
                        api_keys::ROWS
                            .revoke(db, key.id, now)
                            .await?
                            .then(|| ("api_key", key.id.to_string()))
                    }
                    _ => None,
                }
            }
            SecretKind::RefreshToken => {
                match refresh_tokens::find_by_digest(db, &secret.digest()).await? {
                    Some((_, family))
                        if owns(
                            caller,
                            PrincipalKind::User,
                            &family.user_id.to_string(),
                            Environment::Live,
                        ) =>
                    {
                        refresh_tokens::revoke_family(db, family.id, "revoked", now)
                            .await?
                            .then(|| ("session", family.id.to_string()))
                    }
                    _ => None,
                }
            }
            SecretKind::PersonalAccessToken => {
                match personal_access_tokens::find_by_digest(db, secret.digest().as_bytes()).await?
                {
                    Some(pat)
                        if owns(
                            caller,
                            PrincipalKind::User,
                            &pat.user_id.to_string(),
                            Environment::Live,
                        ) =>
                    {
                        personal_access_tokens::ROWS
                            .revoke(db, pat.id, now)
                            .await?
                            .then(|| ("personal_access_token", pat.id.to_string()))
                    }
                    _ => None,
                }
            }
            SecretKind::ClientSecret | SecretKind::BrowserSession => None,
        },
        PresentedCredential::AccessToken(jwt_text) => {
            match jwt::verify(&state.keys, db, jwt_text, &state.settings.issuer, now).await {
                Ok(claims) => {
                    let mine = if claims.client_id == super::FIRST_PARTY_CLIENT_ID {
                        owns(caller, PrincipalKind::User, &claims.sub, Environment::Live)
                    } else {
                        owns(
                            caller,
                            PrincipalKind::Client,
                            &claims.client_id,
                            Environment::Live,
                        )
                    };
                    match (mine, jwt_expiry(claims.exp)) {
                        (true, Some(expires_at)) => {
                            revoked_jtis::revoke(db, &claims.jti, expires_at, now)
                                .await?
                                .then_some(("access_token", claims.jti))
                        }
                        _ => None,
                    }
                }
                Err(jwt::JwtError::Unexpected(e)) => return Err(OAuthError::from(e)),
                Err(_) => None,
            }
        }
    };
    if let Some((kind, id)) = target {
        audit::record(
            db,
            AuditEvent::new("token.revoke", Outcome::Success)
                .actor(&caller.principal)
                .target(kind, id),
            now,
        )
        .await?;
        state
            .commit_credential_change(txn)
            .await
            .map_err(StoreError::from)?;
    }
    Ok(())
}

fn jwt_expiry(exp: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(exp, 0)
}

/// GitHub-style leaked-credential reporting: anyone may hand in Trident secrets
/// they found; those that exist are revoked and audited for their owner. The
/// answer never says which existed.
pub async fn revoke_leaked(
    state: &AppState,
    presented: &[String],
    source_ip: Option<String>,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    let db = &txn;
    let mut revoked = 0usize;
    for text in presented {
        let Some(credential) = PresentedCredential::recognize(text) else {
            continue;
        };
        let found: Option<(&'static str, String, Option<String>)> = match &credential {
            PresentedCredential::Opaque(secret) => leaked_opaque(db, secret, now).await?,
            PresentedCredential::AccessToken(token) => {
                match jwt::verify(&state.keys, db, token, &state.settings.issuer, now).await {
                    Ok(claims) => match jwt_expiry(claims.exp) {
                        Some(expires_at) => revoked_jtis::revoke(db, &claims.jti, expires_at, now)
                            .await?
                            .then_some(("access_token", claims.jti, Some(claims.sub))),
                        None => None,
                    },
                    Err(jwt::JwtError::Unexpected(e)) => return Err(AppError::from(e)),
                    Err(_) => None,
                }
            }
        };
        if let Some((kind, id, owner)) = found {
            revoked += 1;
            audit::record(
                db,
                AuditEvent::new("credential.leaked", Outcome::Success)
                    .target(kind, id)
                    .source_ip(source_ip.clone())
                    .details(json!({ "owner": owner, "revoked": true })),
                now,
            )
            .await?;
        }
    }
    if revoked > 0 {
        state.commit_credential_change(txn).await?;
    }
    Ok(())
}

async fn leaked_opaque(
    db: &impl sea_orm::ConnectionTrait,
    secret: &OpaqueSecret,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<(&'static str, String, Option<String>)>, AppError> {
    let digest = secret.digest();
    Ok(match secret.kind() {
        SecretKind::LiveApiKey | SecretKind::TestApiKey => {
            match api_keys::find_by_digest(db, digest.as_bytes()).await? {
                Some(key) if api_keys::ROWS.revoke(db, key.id, now).await? => {
                    Some(("api_key", key.id.to_string(), Some(key.user_id.to_string())))
                }
                _ => None,
            }
        }
        SecretKind::RefreshToken => match refresh_tokens::find_by_digest(db, &digest).await? {
            Some((_, family))
                if refresh_tokens::revoke_family(db, family.id, "leaked", now).await? =>
            {
                Some((
                    "session",
                    family.id.to_string(),
                    Some(family.user_id.to_string()),
                ))
            }
            _ => None,
        },
        SecretKind::ClientSecret => client_store::expire_secret(db, digest.as_bytes(), now)
            .await?
            .map(|client: Uuid| {
                (
                    "client_secret",
                    client.to_string(),
                    Some(client.to_string()),
                )
            }),
        SecretKind::BrowserSession => {
            browser_sessions::delete_by_digest(db, &digest)
                .await?
                .map(|session| {
                    (
                        "browser_session",
                        session.id.to_string(),
                        Some(session.user_id.to_string()),
                    )
                })
        }
        SecretKind::PersonalAccessToken => {
            match personal_access_tokens::find_by_digest(db, digest.as_bytes()).await? {
                Some(pat) if personal_access_tokens::ROWS.revoke(db, pat.id, now).await? => Some((
                    "personal_access_token",
                    pat.id.to_string(),
                    Some(pat.user_id.to_string()),
                )),
                _ => None,
            }
        }
    })
}
