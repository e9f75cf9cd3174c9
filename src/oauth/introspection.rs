//! Token introspection, RFC 7662, for every Trident token, and who may call the
//! protocol endpoints that take a `token` (introspection and revocation).

use serde::Serialize;

use super::client_authentication::{self, ClientCredentials};
use super::error::OAuthError;
use super::params::Params;
use super::OAuthDeps;
use crate::credentials::presented::PresentedCaller;
use crate::credentials::{inspect, AuthnError, PresentedCredential};
use crate::domain::{
    Audience, CredentialKind, Environment, Inspection, Permission, Principal, PrincipalKind,
    PrincipalRef, TokenType,
};

/// Authenticates the caller: a client by `client_secret_basic`/`client_secret_post`,
/// or any Trident credential presented as `Bearer`, `Api-Key` or `X-API-Key`.
pub async fn authenticate_caller(
    deps: &OAuthDeps<'_>,
    caller: PresentedCaller<'_>,
    params: &Params,
    source_ip: Option<&str>,
) -> Result<Principal, OAuthError> {
    let basic = match caller {
        PresentedCaller::Basic(header) => Some(header),
        _ => None,
    };
    if basic.is_some() || params.get("client_secret").is_some() {
        let credentials = ClientCredentials::from_request(basic, params)?;
        let authenticated = client_authentication::authenticate_cached(
            deps,
            &credentials.client_id,
            &credentials.secret,
            source_ip,
        )
        .await
        .map_err(|e| e.into_oauth(credentials.basic))?;
        return Ok(authenticated.principal());
    }
    let presented = match caller {
        PresentedCaller::Bearer(token) => PresentedCredential::recognize(token),
        PresentedCaller::Nothing | PresentedCaller::Basic(_) | PresentedCaller::Unsupported => None,
    }
    .ok_or(OAuthError::InvalidClient { basic: false })?;
    Ok(inspect::resolve(&deps.credentials, presented).await?)
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

fn active(issuer: &str, inspection: &Inspection) -> ActiveToken {
    let p = &inspection.principal;
    let is_user = p.principal.kind == PrincipalKind::User;
    ActiveToken {
        active: true,
        token_type: inspection.kind().token_type(),
        scope: p.scopes.to_string(),
        sub: p.principal.id.clone(),
        exp: inspection.expires_at.map(|t| t.timestamp()),
        iat: inspection.issued_at.map(|t| t.timestamp()),
        nbf: inspection.not_before.map(|t| t.timestamp()),
        iss: issuer.to_owned(),
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
    deps: &OAuthDeps<'_>,
    caller: &Principal,
    token: &str,
) -> Result<IntrospectionResponse, OAuthError> {
    if !caller.has(Permission::TokensIntrospect) {
        return Err(OAuthError::InsufficientScope(Permission::TokensIntrospect));
    }
    let caller_key = format!("{:?}:{}", caller.principal.kind, caller.principal.id);
    if let Err(wait) = deps
        .introspection_limiter
        .check(&caller_key, deps.credentials.clock.now())
    {
        return Err(OAuthError::TooManyRequests {
            retry_after: wait.num_seconds().max(1) as u64,
        });
    }
    let Some(presented) = PresentedCredential::recognize(token) else {
        return Ok(IntrospectionResponse::INACTIVE);
    };
    match inspect::inspect(&deps.credentials, &presented).await {
        // A web UI session cookie is Trident's own business, not a token to vouch for.
        Ok(inspection) if inspection.kind() == CredentialKind::BrowserSession => {
            Ok(IntrospectionResponse::INACTIVE)
        }
        Ok(inspection) => Ok(IntrospectionResponse::Active(Box::new(active(
            &deps.credentials.settings.issuer,
            &inspection,
        )))),
        Err(AuthnError::Unauthenticated) => Ok(IntrospectionResponse::INACTIVE),
        Err(other) => Err(other.into()),
    }
}
