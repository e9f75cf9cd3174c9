//! `/oauth/*` and the RFC 8414 metadata: errors in RFC 6749 §5.2 JSON, never problem+json.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use serde::Serialize;

use super::extract::source_ip;
use super::no_store;
use crate::domain::Principal;
use crate::error::AppError;
use crate::oauth::introspection::{self, ActiveToken, CallerAuth};
use crate::oauth::metadata::{self, Metadata};
use crate::oauth::token::{self, Params, TokenResponse, MAX_BODY_BYTES};
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::store::roles;

/// RFC 6749 §5.2 error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    pub error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            OAuthError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            OAuthError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::TemporarilyUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let OAuthError::ServerError(cause) = self {
            tracing::error!(error = ?cause, "unexpected error at the token endpoint");
        }
        let mut response = no_store(HttpResponse::build(self.status_code()));
        match self {
            // §5.2: 401 with a challenge for the scheme the client tried; Basic is the one we offer.
            OAuthError::InvalidClient { .. } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"trident\""),
                ));
            }
            OAuthError::TooManyRequests { retry_after }
            | OAuthError::TemporarilyUnavailable { retry_after } => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after)));
            }
            _ => {}
        }
        response.json(OAuthErrorBody {
            error: self.code(),
            error_description: self.description(),
        })
    }
}

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
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::InvalidRequest("the body could not be read".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(OAuthError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Params::parse(&body)
}

fn single_authorization(req: &HttpRequest) -> Result<Option<&str>, OAuthError> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::InvalidRequest(
            "more than one Authorization header".into(),
        ));
    }
    first
        .map(|v| {
            v.to_str()
                .map_err(|_| OAuthError::InvalidClient { basic: true })
        })
        .transpose()
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
    let authorization = single_authorization(&req)?;
    let response = token::issue(&state, authorization, &params, source_ip(&req).as_deref()).await?;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// RFC 8414 authorization server metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "discovery",
    responses((status = 200, body = Metadata)))]
pub async fn get_metadata(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let scopes = roles::all_permissions(state.db.read()).await?;
    Ok(HttpResponse::Ok().json(metadata::metadata(&state.settings.issuer, scopes)))
}

fn caller_auth(req: &HttpRequest) -> Result<(Option<&str>, Option<&str>), OAuthError> {
    let authorization = single_authorization(req)?;
    let mut keys = req.headers().get_all("x-api-key");
    let api_key = keys.next();
    if keys.next().is_some() || (api_key.is_some() && authorization.is_some()) {
        return Err(OAuthError::InvalidRequest(
            "present exactly one credential".into(),
        ));
    }
    let api_key = api_key
        .map(|v| {
            v.to_str()
                .map_err(|_| OAuthError::InvalidClient { basic: false })
        })
        .transpose()?;
    Ok((authorization, api_key))
}

/// Authenticates the caller of an endpoint that takes a `token` (RFC 7662 §2.1, RFC 7009 §2.1).
async fn caller_and_token(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Principal, String), OAuthError> {
    let params = read_form(req, payload, MAX_BODY_BYTES).await?;
    let (authorization, api_key_header) = caller_auth(req)?;
    let ip = source_ip(req);
    let caller = introspection::authenticate_caller(
        state,
        CallerAuth {
            authorization,
            api_key_header,
            source_ip: ip.as_deref(),
        },
        &params,
    )
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
    let answer = introspection::introspect(&state, &caller, &token).await?;
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
    introspection::revoke(&state, &caller, &token).await?;
    Ok(no_store(HttpResponse::Ok()).finish())
}
