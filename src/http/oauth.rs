//! `/oauth/*` and the RFC 8414 metadata: thin handlers; errors render as RFC 6749
//! §5.2 JSON (`oauth_error`), never problem+json.

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::{self, BodyError};
use super::credential_header::{self, HeaderError};
use super::extract::source_ip;
use super::no_store;
use super::oauth_error::OAuthErrorBody;
use crate::accounts;
use crate::domain::Principal;
use crate::error::AppError;
use crate::oauth::introspection::{self, ActiveToken};
use crate::oauth::metadata::{self, Metadata};
use crate::oauth::params::Params;
use crate::oauth::token::{self, TokenResponse, MAX_BODY_BYTES};
use crate::oauth::{revocation, OAuthError};
use crate::state::AppState;

/// Reads a form body up to `limit` bytes, refusing anything that is not a form.
pub async fn read_form(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Params, OAuthError> {
    if !req.query_string().is_empty() {
        return Err(OAuthError::InvalidRequest(
            "parameters belong in the request body, not the URL".into(),
        ));
    }
    if !body::is_form(req.headers()) {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let body = body::read_bounded(&mut payload, limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => OAuthError::TooLarge,
            BodyError::Unreadable => {
                OAuthError::InvalidRequest("the body could not be read".into())
            }
        })?;
    Params::parse(&body)
}

/// RFC 6749's answers to headers that present no single credential.
fn header_error(err: HeaderError) -> OAuthError {
    match err {
        HeaderError::SeveralAuthorizations => {
            OAuthError::InvalidRequest("more than one Authorization header".into())
        }
        HeaderError::SeveralCredentials => {
            OAuthError::InvalidRequest("present exactly one credential".into())
        }
        HeaderError::NotText { authorization } => OAuthError::InvalidClient {
            basic: authorization,
        },
    }
}

/// The token endpoint: `grant_type=client_credentials`.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", content = String,
        description = "grant_type=client_credentials, optional scope, resource or audience; client_id and client_secret when not using Basic"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = OAuthErrorBody, description = "invalid_request, unsupported_grant_type, invalid_scope, invalid_target"),
        (status = 401, body = OAuthErrorBody, description = "invalid_client"),
        (status = 429, body = OAuthErrorBody, description = "too many failed attempts; see Retry-After"),
    ),
    security(("basic" = []), ()))]
#[tracing::instrument(name = "issue token", skip_all)]
pub async fn issue_token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = read_form(&req, payload, MAX_BODY_BYTES).await?;
    let authorization = credential_header::authorization(req.headers()).map_err(header_error)?;
    let ip = source_ip(&req);
    let response = token::issue(&state.oauth(), authorization, &params, ip.as_deref()).await?;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// RFC 8414 authorization server metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "discovery",
    responses((status = 200, body = Metadata)))]
pub async fn get_metadata(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let scopes = accounts::roles::known_permissions(&state.accounts()).await?;
    Ok(HttpResponse::Ok().json(metadata::metadata(&state.settings.issuer, scopes)))
}

/// Authenticates the caller of an endpoint that takes a `token` (RFC 7662 §2.1, RFC 7009 §2.1).
async fn caller_and_token(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Principal, String), OAuthError> {
    let params = read_form(req, payload, MAX_BODY_BYTES).await?;
    let presented = credential_header::presented_caller(req.headers()).map_err(header_error)?;
    let ip = source_ip(req);
    let caller =
        introspection::authenticate_caller(&state.oauth(), presented, &params, ip.as_deref())
            .await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    Ok((caller, token.to_owned()))
}

/// RFC 7662 introspection of any Trident token. Inactive tokens of every kind get exactly `{"active": false}`.
#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", content = String, description = "token, optional token_type_hint"),
    responses(
        (status = 200, body = ActiveToken, description = "Active token, or exactly {\"active\": false}"),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody), (status = 403, body = OAuthErrorBody, description = "Caller lacks tokens:introspect"),
    ),
    security(("basic" = []), ("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "introspect token", skip_all)]
pub async fn introspect_token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let (caller, token) = caller_and_token(&req, payload, &state).await?;
    let answer = introspection::introspect(&state.oauth(), &caller, &token).await?;
    Ok(no_store(HttpResponse::Ok()).json(answer))
}

/// RFC 7009 revocation of any Trident token the caller owns; 200 whether or not it existed.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", content = String, description = "token, optional token_type_hint"),
    responses((status = 200, description = "Revoked, or nothing to revoke"), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)),
    security(("basic" = []), ("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "revoke token", skip_all)]
pub async fn revoke_token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let (caller, token) = caller_and_token(&req, payload, &state).await?;
    revocation::revoke(&state.oauth(), &caller, &token).await?;
    Ok(no_store(HttpResponse::Ok()).finish())
}
